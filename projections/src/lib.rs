//! Projection rows, keys, the store traits and the query contract of mailshot.
