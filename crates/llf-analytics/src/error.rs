//! The crate's error.

use std::path::PathBuf;

/// Errors of the usage analytics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyticsError {
    /// The database could not be opened or created.
    #[error("cannot open the analytics database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The schema could not be brought up to date.
    #[error("cannot update the schema of the analytics database {path}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("the analytics database failed")]
    Database(#[from] sqlx::Error),
}

/// Results of this crate.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
