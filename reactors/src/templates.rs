//! Where template text comes from: a trait that infra fills by reading files, and an in-memory
//! map for tests and embedding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a template could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// No template has this key.
    #[error("template {key:?} not found")]
    NotFound { key: String },
    /// The template exists but could not be read (I/O error, not UTF-8, …).
    #[error("template {key:?} unreadable: {reason}")]
    Unreadable { key: String, reason: String },
}

/// A source of Liquid template text by template key (`order/shipped`). The file layout infra
/// uses is [`template_file`]: `<dir>/<templateKey>.liquid`, `/` in the key making
/// subdirectories.
pub trait TemplateSource: Send + Sync {
    /// The HTML body template for `template_key`.
    fn load(&self, template_key: &str) -> Result<String, TemplateError>;
}

/// Templates held in memory, keyed by template key.
#[derive(Debug, Clone, Default)]
pub struct MemoryTemplates {
    templates: HashMap<String, String>,
}

impl MemoryTemplates {
    /// An empty set.
    pub fn new() -> MemoryTemplates {
        MemoryTemplates::default()
    }

    /// Adds (or replaces) one template; chainable.
    pub fn with(mut self, template_key: &str, text: &str) -> MemoryTemplates {
        self.templates
            .insert(template_key.to_string(), text.to_string());
        self
    }
}

impl TemplateSource for MemoryTemplates {
    fn load(&self, template_key: &str) -> Result<String, TemplateError> {
        self.templates
            .get(template_key)
            .cloned()
            .ok_or_else(|| TemplateError::NotFound {
                key: template_key.to_string(),
            })
    }
}

/// The file holding a template: `<dir>/<templateKey>.liquid`. `None` for a key that is not a
/// valid template key (see [`crate::config::check_template_key`]), so that a key can never
/// name a file outside `dir`.
pub fn template_file(dir: &Path, template_key: &str) -> Option<PathBuf> {
    crate::config::check_template_key(template_key).ok()?;
    let mut path = dir.to_path_buf();
    let mut segments = template_key.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segments.peek().is_some() {
            path.push(segment);
        } else {
            path.push(format!("{segment}.liquid"));
        }
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_keys_map_to_files_under_the_dir() {
        assert_eq!(
            template_file(Path::new("tpl"), "order/shipped"),
            Some(PathBuf::from("tpl/order/shipped.liquid"))
        );
        assert_eq!(
            template_file(Path::new("tpl"), "welcome"),
            Some(PathBuf::from("tpl/welcome.liquid"))
        );
        assert_eq!(template_file(Path::new("tpl"), "../etc/passwd"), None);
        assert_eq!(template_file(Path::new("tpl"), "/abs"), None);
    }

    #[test]
    fn memory_templates_report_missing_keys() {
        let t = MemoryTemplates::new().with("a", "A");
        assert_eq!(t.load("a").unwrap(), "A");
        assert_eq!(
            t.load("b").unwrap_err().to_string(),
            "template \"b\" not found"
        );
    }
}
