//! Pure folds from log records to projection changes.
