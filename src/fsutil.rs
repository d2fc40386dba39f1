//! Atomic publication of output directories, and progress bars.
//!
//! Every stage writes into a staging directory beside its destination and
//! publishes it with renames, so readers see either the previous complete
//! output or the new complete output, never a half-written one. A stage only
//! replaces a directory that an aftersight stage of the same kind wrote (its
//! `manifest.json` says so), never arbitrary user data.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

/// Name of the manifest every published directory carries.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Why an output directory could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The destination holds something aftersight did not write.
    #[error(
        "refusing to replace `{0}`: it exists and is not an output of this aftersight stage (no matching manifest.json); choose another directory or remove it"
    )]
    Foreign(PathBuf),
    /// A filesystem operation failed.
    #[error(transparent)]
    Io(#[from] FsError),
}

/// A filesystem operation that failed: what was being done, and where.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{path}`")]
pub struct FsError {
    /// What was being done.
    pub action: &'static str,
    /// The path involved.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// Builds a mapper from [`io::Error`] to [`FsError`] for `action` on `path`.
pub fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FsError {
    let path = path.to_path_buf();
    move |source| FsError {
        action,
        path,
        source,
    }
}

/// A staging directory that becomes `dest` on [`Staging::publish`] and is
/// removed if dropped unpublished.
#[derive(Debug)]
pub struct Staging {
    dest: PathBuf,
    path: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates an empty staging directory beside `dest`.
    pub fn new(dest: &Path) -> Result<Staging, PublishError> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_error("create directory", &parent))?;
        let name = dest
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let path = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).map_err(io_error("clear stale staging directory", &path))?;
        }
        fs::create_dir(&path).map_err(io_error("create staging directory", &path))?;
        Ok(Staging {
            dest: dest.to_path_buf(),
            path,
            published: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces `dest` with the staged directory. `dest` must be absent,
    /// empty, or carry a manifest whose `kind` is `kind`.
    pub fn publish(mut self, kind: &str) -> Result<(), PublishError> {
        if self.dest.exists() && !is_replaceable(&self.dest, kind) {
            return Err(PublishError::Foreign(self.dest.clone()));
        }
        let old = self.path.with_extension("old");
        if self.dest.exists() {
            fs::rename(&self.dest, &old).map_err(io_error("move aside", &self.dest))?;
        }
        if let Err(e) = fs::rename(&self.path, &self.dest) {
            // Put the previous output back before reporting.
            if old.exists() {
                let _ = fs::rename(&old, &self.dest);
            }
            return Err(io_error("publish", &self.dest)(e).into());
        }
        self.published = true;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io_error("remove previous output", &old))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn is_replaceable(dest: &Path, kind: &str) -> bool {
    if fs::read_dir(dest).is_ok_and(|mut d| d.next().is_none()) {
        return true;
    }
    fs::read(dest.join(MANIFEST_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|m| m.get("kind").and_then(|k| k.as_str()) == Some(kind))
}

/// A progress bar on stderr when `enabled` and stderr is a terminal; hidden otherwise.
pub fn progress_bar(enabled: bool, len: u64, message: &'static str) -> ProgressBar {
    use std::io::IsTerminal;
    if !enabled || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} ({eta})")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Writes a file through a temporary sibling and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_replaces_own_output_and_refuses_foreign_data() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let s = Staging::new(&dest).unwrap();
        fs::write(s.path().join(MANIFEST_FILE), r#"{"kind":"k"}"#).unwrap();
        fs::write(s.path().join("a"), "1").unwrap();
        s.publish("k").unwrap();
        assert_eq!(fs::read_to_string(dest.join("a")).unwrap(), "1");

        let s = Staging::new(&dest).unwrap();
        fs::write(s.path().join(MANIFEST_FILE), r#"{"kind":"k"}"#).unwrap();
        s.publish("k").unwrap();
        assert!(!dest.join("a").exists(), "replaced wholesale");

        let foreign = root.path().join("mine");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("thesis.docx"), "precious").unwrap();
        let s = Staging::new(&foreign).unwrap();
        let staged = s.path().to_path_buf();
        assert!(matches!(s.publish("k"), Err(PublishError::Foreign(_))));
        assert_eq!(
            fs::read_to_string(foreign.join("thesis.docx")).unwrap(),
            "precious"
        );
        assert!(!staged.exists(), "staging is cleaned up");
    }
}
