//! Email address normalisation: the subscriber key.

/// Normalises an address (docs/design.md §3.3): trimmed, `Name <addr>` → `addr`, lower-cased.
/// Returns `None` when the result is not a plausible email address (`local@domain.tld`).
pub fn normalise_email(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    if s.ends_with('>')
        && let Some(open) = s.rfind('<')
    {
        s = s[open + 1..s.len() - 1].trim();
    }
    if !is_valid_address(s) {
        return None;
    }
    Some(s.to_lowercase())
}

/// True when `s` looks like `local@domain`: one `@`, a non-empty local part of at most 64
/// characters with no spaces or angle brackets, and a dotted domain of letters, digits and `-`.
pub fn is_valid_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 255 || domain.contains('@') {
        return false;
    }
    if local.chars().any(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(
                c,
                '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'
            )
    }) {
        return false;
    }
    let mut labels = 0;
    for label in domain.split('.') {
        if label.is_empty()
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_display_names_case_and_space() {
        assert_eq!(
            normalise_email("  Jordan.Lee@Example.NET "),
            Some("jordan.lee@example.net".into())
        );
        assert_eq!(
            normalise_email("Jordan Lee <Jordan.Lee@example.net>"),
            Some("jordan.lee@example.net".into())
        );
        assert_eq!(
            normalise_email("\"Lee, J\" < j@example.net >"),
            Some("j@example.net".into())
        );
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in [
            "",
            "jordan",
            "@example.net",
            "j@",
            "j@localhost",
            "j@@example.net",
            "j k@example.net",
            "j@exa mple.net",
            "j@-x.net",
            "j@x..net",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad}");
        }
    }
}
