use std::path::PathBuf;

/// Errors of `llf-templates`.
///
/// Wrapped failures are the `source()` of a variant, never part of its message, so a printed
/// chain names each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// No template has this id.
    #[error("no template `{0}` (see `llf template list`)")]
    NotFound(String),
    /// A template with this id exists already.
    #[error("a template `{0}` exists already; pick another name or pass --overwrite")]
    Exists(String),
    /// Built-in templates cannot be deleted or changed.
    #[error(
        "`{0}` is a built-in template and cannot be {1}; create a copy under another name instead"
    )]
    BuiltIn(String, &'static str),
    /// The name gives no usable id.
    #[error("invalid template name `{0}`: use letters, digits, spaces, `-` or `_`")]
    InvalidName(String),
    /// Rendering lacked values.
    #[error("missing value(s) for {missing}; this template needs: {needed}", missing = .missing.join(", "), needed = .needed.join(", "))]
    MissingVariables {
        /// Variables without a value.
        missing: Vec<String>,
        /// Every variable of the template.
        needed: Vec<String>,
    },
    /// Rendering got values the template does not use.
    #[error("unknown variable(s) {unknown}; this template takes: {needed}", unknown = .unknown.join(", "), needed = .needed.join(", "))]
    UnknownVariables {
        /// Values given for no placeholder.
        unknown: Vec<String>,
        /// Every variable of the template.
        needed: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What LLF was doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A template file is not valid.
    #[error("{path} is not a valid template file; fix it or move it aside")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Writing or trashing went wrong in llf-core.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
}

/// `Result` with [`TemplateError`].
pub type Result<T> = std::result::Result<T, TemplateError>;

impl TemplateError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
