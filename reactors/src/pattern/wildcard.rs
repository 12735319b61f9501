//! Wildcard values: `*` matches zero or more characters, `\*` a literal star, `\\` a backslash.

/// A compiled wildcard: literal runs separated by stars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    /// The literal parts; a `*` stands between each two consecutive parts.
    parts: Vec<String>,
}

impl Wildcard {
    /// Parses a wildcard, rejecting two unescaped `*` in a row and any backslash escape other
    /// than `\*` and `\\`.
    pub(crate) fn parse(text: &str) -> Result<Wildcard, String> {
        let mut parts = vec![String::new()];
        let mut chars = text.chars();
        let mut last_was_star = false;
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    if last_was_star {
                        return Err(format!("consecutive wildcard characters in {text:?}"));
                    }
                    parts.push(String::new());
                    last_was_star = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => {
                        parts.last_mut().expect("never empty").push(escaped)
                    }
                    _ => {
                        return Err(format!(
                            "invalid escape in wildcard {text:?}: only \\* and \\\\ are allowed"
                        ));
                    }
                },
                other => parts.last_mut().expect("never empty").push(other),
            }
            last_was_star = false;
        }
        Ok(Wildcard { parts })
    }

    /// True when `value` matches the whole wildcard.
    pub(crate) fn matches(&self, value: &str) -> bool {
        let (first, rest) = self
            .parts
            .split_first()
            .expect("parse makes at least one part");
        let Some(mut remaining) = value.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        // Leftmost matching of each middle part is optimal for `*`-only globs.
        for part in middle {
            match remaining.find(part.as_str()) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }
}
