//! What kind of failure an error is. Each layer keeps its own error type;
//! [`Category::of`] reads any of them, so the binary maps failures to exit
//! codes in one place and a script can tell a usage mistake from bad data.

use crate::config::ConfigError;
use crate::ingest::IngestError;
use crate::report::ReportError;
use crate::usertable::UserTableError;

/// The kind of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A bad flag or combination of flags: the command cannot do what it was asked.
    Usage,
    /// The input was refused: too many bad rows at ingest, or a user's table
    /// that breaks a rule of the command; nothing was published.
    InputRejected,
    /// The requested period has no data; nothing was written.
    NoData,
    /// The data, a query or the settings file failed.
    Data,
    /// Reading or writing a file failed.
    Io,
    /// A bug: counts that should reconcile did not.
    Internal,
}

impl Category {
    /// The category of one error of the chain, when that error decides it
    /// (wrappers that only add context return `None`).
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Option<Category> {
        // A malformed settings file or value is a failed run of the job
        // (exit 1), like bad data: scripts have always seen it that way.
        if let Some(e) = err.downcast_ref::<ConfigError>() {
            return match e {
                ConfigError::Read { .. } | ConfigError::Write { .. } => Some(Category::Io),
                _ => Some(Category::Data),
            };
        }
        if let Some(e) = err.downcast_ref::<IngestError>() {
            return match e {
                IngestError::TooManyBad { .. } => Some(Category::InputRejected),
                IngestError::Reconcile(_) => Some(Category::Internal),
                _ => None,
            };
        }
        if let Some(e) = err.downcast_ref::<UserTableError>() {
            return Some(match e {
                UserTableError::Read { .. } | UserTableError::Unreadable { .. } => Category::Io,
                UserTableError::Rejected { .. } | UserTableError::Method { .. } => {
                    Category::InputRejected
                }
            });
        }
        if let Some(e) = err.downcast_ref::<crate::warranty::nevada::NevadaError>() {
            use crate::warranty::nevada::NevadaError;
            return Some(match e {
                NevadaError::Read { .. } => Category::Io,
                NevadaError::Rejected { .. } | NevadaError::Fit { .. } => Category::InputRejected,
            });
        }
        if let Some(e) = err.downcast_ref::<ReportError>() {
            return match e {
                ReportError::NoData { .. } => Some(Category::NoData),
                _ => None,
            };
        }
        err.is::<std::io::Error>().then_some(Category::Io)
    }
}

/// An error and its causes on one line, `outer: cause: root`, each cause
/// once: a cause whose text an outer message already shows (DataFusion's
/// errors print their sources themselves) is left out.
pub fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let df = datafusion::error::DataFusionError::Plan("No field named x".into());
        let wrapped = datafusion::error::DataFusionError::Context("planning".into(), Box::new(df));
        let sql = crate::sql::SqlError::Query(wrapped);
        let message = chain_message(&sql);
        assert_eq!(message.matches("No field named x").count(), 1, "{message}");
        assert!(message.starts_with("query failed: "), "{message}");
    }

    #[test]
    fn the_innermost_deciding_error_names_the_category() {
        let no_data = ReportError::NoData {
            period: "2020-01".into(),
            valid_through: "2026-10-31".into(),
        };
        assert_eq!(Category::of(&no_data), Some(Category::NoData));
        let io = std::io::Error::other("disk full");
        assert_eq!(Category::of(&io), Some(Category::Io));
        let value = ConfigError::Value {
            setting: "--threads".into(),
            message: "0".into(),
        };
        assert_eq!(Category::of(&value), Some(Category::Data));
        let sql = crate::sql::SqlError::Library("no query".into());
        assert_eq!(Category::of(&sql), None);
    }
}
