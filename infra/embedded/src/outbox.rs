//! The embedded runtime's effects: emails as `.eml` files in the outbox, executions recorded only.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use mailshot_engine::effects::{EffectError, Effects};
use mailshot_reactors::{OutgoingEmail, StartExecution, StopExecution};

/// The embedded runtime's effects: each email an RFC 5322 `.eml` file in the outbox
/// directory, named by its `Message-ID` (without angle brackets) and written atomically
/// (temporary file, fsync, rename), so that a crash never leaves half a file and a retry
/// rewrites the same name; executions are only recorded (their `sequence.started` in the log),
/// with the ARN [`local_execution_arn`].
#[derive(Debug)]
pub struct OutboxEffects {
    dir: PathBuf,
    created: bool,
    dirty: bool,
}

/// The outbox directory of a data dir: `<data dir>/outbox`.
pub fn outbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

/// The synthetic ARN of an execution the embedded runtime records:
/// `arn:aws:states:local:000000000000:execution:<state machine name>:<execution name>`.
pub fn local_execution_arn(state_machine_arn: &str, execution_name: &str) -> String {
    let machine = state_machine_arn
        .rsplit_once(":stateMachine:")
        .map_or(state_machine_arn, |(_, name)| name);
    let machine = machine.split(':').next().unwrap_or(machine);
    format!("arn:aws:states:local:000000000000:execution:{machine}:{execution_name}")
}

impl OutboxEffects {
    /// Effects writing to `<data_dir>/outbox/` (created on the first email).
    pub fn new(data_dir: &Path) -> OutboxEffects {
        OutboxEffects {
            dir: outbox_dir(data_dir),
            created: false,
            dirty: false,
        }
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name of a message: its `Message-ID` without angle brackets, plus `.eml`.
    pub fn file_name(message_id: &str) -> String {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "@._-+".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.eml")
    }

    fn io(&self, what: &str, path: &Path, e: std::io::Error) -> EffectError {
        EffectError::Unavailable(format!("outbox: {what} {}: {e}", path.display()))
    }
}

impl Effects for OutboxEffects {
    fn start_execution(&mut self, start: &StartExecution) -> Result<String, EffectError> {
        Ok(local_execution_arn(&start.state_machine_arn, &start.name))
    }

    fn stop_execution(&mut self, _stop: &StopExecution) -> Result<(), EffectError> {
        Ok(())
    }

    fn send_email(&mut self, email: &OutgoingEmail) -> Result<String, EffectError> {
        if !self.created {
            std::fs::create_dir_all(&self.dir).map_err(|e| self.io("creating", &self.dir, e))?;
            self.created = true;
        }
        let name = OutboxEffects::file_name(&email.message_id);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&email.to_eml())?;
            file.sync_data()
        };
        write().map_err(|e| self.io("writing", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.io("renaming", &path, e))?;
        self.dirty = true;
        Ok(name.trim_end_matches(".eml").to_string())
    }

    fn resend_is_safe(&self) -> bool {
        true
    }

    fn flush(&mut self) -> Result<(), EffectError> {
        if self.dirty {
            // The renames are durable once the directory is.
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io("syncing", &self.dir, e))?;
            self.dirty = false;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_arns_name_the_state_machine_and_the_execution() {
        assert_eq!(
            local_execution_arn(
                "arn:aws:states:us-east-1:111122223333:stateMachine:onboarding",
                "onboarding-0123"
            ),
            "arn:aws:states:local:000000000000:execution:onboarding:onboarding-0123"
        );
    }

    #[test]
    fn outbox_file_names_are_the_message_id() {
        assert_eq!(
            OutboxEffects::file_name("<0a1b@example.com>"),
            "0a1b@example.com.eml"
        );
        assert_eq!(OutboxEffects::file_name("<a/../b@x>"), "a_.._b@x.eml");
    }
}
