//! Projection digests: a 128-bit XXH3 over every (table, key, value) in key order.

/// A running digest of one projection's rows, fed in key order.
pub struct Digest {
    hasher: xxhash_rust::xxh3::Xxh3,
    rows: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            rows: 0,
        }
    }
}

impl Digest {
    /// Adds one row. Lengths are hashed too, so row boundaries can't shift.
    pub fn row(&mut self, table: &str, key: &[u8], value: &[u8]) {
        for part in [table.as_bytes(), key, value] {
            self.hasher.update(&(part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self.rows += 1;
    }

    /// The digest as 32 hex digits, and the number of rows.
    pub fn finish(&self) -> (String, u64) {
        (format!("{:032x}", self.hasher.digest128()), self.rows)
    }
}
