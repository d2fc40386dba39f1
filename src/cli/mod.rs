//! The binary's own modules: argument types, one file per subcommand, the
//! printing of tables and JSON, and the mapping of errors to exit codes.

pub mod args;
mod commands;
pub mod exit;
mod print;

pub use self::commands::execute;

/// A command line that parsed but asks for something that cannot be done
/// (exit code 2, like clap's own usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Fails with a [`UsageError`].
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(crate::cli::UsageError(format!($($arg)*)).into())
    };
}
pub(crate) use usage;
