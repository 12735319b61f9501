//! Rebuilding projections from the log, backfilling new ones, and verifying digests.
