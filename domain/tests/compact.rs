//! The compact form of parsed inputs: it decodes to exactly what parsing the raw JSON gives,
//! for every SES input of a generated workload, and its digest pins the parser's output.

use mailshot_domain::compact::{self, COMPACT_VERSION};
use mailshot_domain::{FactId, InputBody, parse_line};
use mailshot_workload::{Generator, WorkloadConfig};

#[test]
fn every_ses_input_decodes_to_what_parsing_gives() {
    let (mut ses, mut other) = (0, 0);
    for line in Generator::new(WorkloadConfig::new(5_000, 3)) {
        for input in parse_line(line.as_bytes()).into_iter().flatten() {
            let mut bytes = Vec::new();
            if !compact::encode(&input, &mut bytes) {
                assert!(!matches!(input.body, InputBody::Ses(_)), "{line}");
                other += 1;
                continue;
            }
            let (envelope, body) = compact::decode(&bytes).expect("decodes");
            assert_eq!(envelope, input.envelope, "{line}");
            assert_eq!(body, input.body, "{line}");
            ses += 1;
        }
    }
    assert!(
        ses > 4_000 && other > 50,
        "{ses} SES inputs, {other} others"
    );
}

/// Replays trust a compact form of the current version instead of parsing the raw JSON. If the
/// parser's output changes, logs written before must be parsed again: bump `COMPACT_VERSION`
/// and then update the digest below.
#[test]
fn the_parsers_output_is_pinned_to_the_compact_version() {
    let mut all = Vec::new();
    for line in Generator::new(WorkloadConfig::new(2_000, 1)) {
        for input in parse_line(line.as_bytes()).into_iter().flatten() {
            compact::encode(&input, &mut all);
        }
    }
    let digest = FactId::of_parts(&[&all]).to_hex();
    assert_eq!(
        (COMPACT_VERSION, digest.as_str()),
        (2, "07188c5a308f15e11055502eb0c9713e"),
        "the parser's output (or the compact layout) changed: bump COMPACT_VERSION"
    );
}
