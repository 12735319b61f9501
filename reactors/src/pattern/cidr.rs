//! CIDR blocks for the `cidr` operator: IPv4 or IPv6 addresses inside a block.

use std::net::IpAddr;

/// A parsed CIDR block, stored as its masked network address and prefix length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/len` (IPv4 len ≤ 32, IPv6 len ≤ 128).
    pub(crate) fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR block (addr/len)"))?;
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = len
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{len:?} is not a prefix length between 0 and {max}"))?;
        Ok(Cidr { network, prefix })
    }

    /// True when `value` is an IP address of the same family inside this block.
    pub(crate) fn contains(&self, value: &str) -> bool {
        let Ok(ip) = value.parse::<IpAddr>() else {
            return false;
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u32, prefix: u8) -> u128 {
    let host_bits = width - u32::from(prefix);
    if host_bits >= 128 {
        0
    } else {
        bits >> host_bits
    }
}
