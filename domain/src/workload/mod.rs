//! A deterministic, seeded generator of realistic mailshot traffic (NDJSON lines).
