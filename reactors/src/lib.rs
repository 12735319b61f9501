//! Reactor decisions: event patterns, sequence triggers, email rendering, unsubscribe tokens. Pure; effects live in infra.
