//! Loading the reactors' configuration from a file: `mailshot.toml`, the templates directory
//! next to it, and the signing secret from the environment variable it names.

use std::path::{Path, PathBuf};

use mailshot_reactors::templates::template_file;
use mailshot_reactors::{Config, ConfigError, Reactor, TemplateError, TemplateSource};

/// Why the configuration could not be loaded: one line naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    /// The file is not a valid configuration (the message names the key).
    #[error("config {path}: {source}")]
    Invalid {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    /// The environment variable named by `sender.signingSecretEnv` is unset or empty.
    #[error(
        "config {path}: sender.signingSecretEnv: environment variable {var} is not set (it must hold the unsubscribe signing secret)"
    )]
    MissingSecret { path: PathBuf, var: String },
    /// `templates.dir` is not a readable directory.
    #[error("config {path}: templates.dir: {dir} is not a directory")]
    TemplatesDir { path: PathBuf, dir: PathBuf },
}

/// Templates read from `<dir>/<templateKey>.liquid` at each render (edits apply at once).
#[derive(Debug, Clone)]
pub struct FileTemplates {
    dir: PathBuf,
}

impl FileTemplates {
    /// Templates under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> FileTemplates {
        FileTemplates { dir: dir.into() }
    }
}

impl TemplateSource for FileTemplates {
    fn load(&self, template_key: &str) -> Result<String, TemplateError> {
        let not_found = || TemplateError::NotFound {
            key: template_key.to_string(),
        };
        let path = template_file(&self.dir, template_key).ok_or_else(not_found)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
            Err(e) => Err(TemplateError::Unreadable {
                key: template_key.to_string(),
                reason: format!("{}: {e}", path.display()),
            }),
        }
    }
}

/// Loads `path`: parses and validates the config, resolves `templates.dir` relative to the
/// file, and reads the signing secret from the variable named by `sender.signingSecretEnv`.
pub fn load(path: &Path) -> Result<Reactor, LoadError> {
    load_with_secret(path, env_secret)
}

/// The secret in environment variable `var`, unless unset or empty.
pub fn env_secret(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|s| !s.is_empty())
}

/// A loaded configuration: the validated config, its templates directory and the secret.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// `templates.dir` resolved against the config file's directory.
    pub templates_dir: PathBuf,
    /// The unsubscribe signing secret (never empty).
    pub secret: Vec<u8>,
}

impl Loaded {
    /// The reactor, with templates read from [`Loaded::templates_dir`].
    pub fn reactor(&self) -> Reactor {
        Reactor::new(
            self.config.clone(),
            FileTemplates::new(&self.templates_dir),
            self.secret.clone(),
        )
        .expect("a loaded secret is never empty")
    }
}

/// [`load`] with the secret looked up by `secret(variable name)` (`None`: unset).
pub fn load_with_secret(
    path: &Path,
    secret: impl FnOnce(&str) -> Option<String>,
) -> Result<Reactor, LoadError> {
    Ok(load_parts(path, secret)?.reactor())
}

/// Loads and validates `path` without building the reactor (e.g. to verify tokens).
pub fn load_parts(
    path: &Path,
    secret: impl FnOnce(&str) -> Option<String>,
) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let config = Config::parse(&text).map_err(|source| LoadError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let templates_dir = base.join(&config.templates_dir);
    if !templates_dir.is_dir() {
        return Err(LoadError::TemplatesDir {
            path: path.to_path_buf(),
            dir: templates_dir,
        });
    }
    let var = config.sender.signing_secret_env.clone();
    let secret =
        secret(&var)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| LoadError::MissingSecret {
                path: path.to_path_buf(),
                var: var.clone(),
            })?;
    Ok(Loaded {
        config,
        templates_dir,
        secret: secret.into_bytes(),
    })
}
