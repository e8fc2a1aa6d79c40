//! [`Llf`]: the application context — configuration, file locations, and the handles every
//! capability needs, opened lazily and shared by every chat and frontend of one process.

use std::path::Path;
use std::sync::Arc;

use llf_config::{Config, ConfigFile, Environment, Paths, Unlock};
use llf_runtime::Runtime;
use tokio::sync::OnceCell;

use crate::locations::Locations;
use crate::{Error, Result};

/// The application context. Cheap to clone: clones share every handle.
///
/// Databases are opened on first use (and purged of items deleted longer ago than the trash
/// retention at that moment), so a command that needs only the configuration touches no database.
#[derive(Clone)]
pub struct Llf {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    file: ConfigFile,
    locations: Locations,
    runtime: Arc<Runtime>,
    api_keys: crate::api_keys::ApiKeys,
    file_trash: OnceCell<llf_core::trash::Trash>,
    #[cfg(feature = "history")]
    history: OnceCell<llf_history::History>,
    #[cfg(feature = "memory")]
    memory: OnceCell<llf_memory::MemoryStore>,
    #[cfg(feature = "rag")]
    pub(crate) embedder: OnceCell<llf_rag::embed::Embedder>,
    #[cfg(feature = "plugins")]
    pub(crate) plugins: OnceCell<crate::plugin_host::Running>,
    #[cfg(feature = "analytics")]
    pub(crate) analytics: OnceCell<llf_analytics::Analytics>,
    /// Usage events being written in the background (see `Llf::record_usage`).
    #[cfg(feature = "analytics")]
    pub(crate) usage_writes: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

impl std::fmt::Debug for Llf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llf")
            .field("config_file", &self.inner.file.path())
            .finish_non_exhaustive()
    }
}

impl Llf {
    /// The context of a loaded configuration.
    pub fn new(file: ConfigFile) -> Self {
        let locations = Locations::new(file.config(), file.paths());
        let runtime = Arc::new(Runtime::new(file.config(), file.paths()));
        let api_keys = crate::api_keys::ApiKeys::new(locations.api_keys());
        Self {
            inner: Arc::new(Inner {
                file,
                locations,
                runtime,
                api_keys,
                file_trash: OnceCell::new(),
                #[cfg(feature = "history")]
                history: OnceCell::new(),
                #[cfg(feature = "memory")]
                memory: OnceCell::new(),
                #[cfg(feature = "rag")]
                embedder: OnceCell::new(),
                #[cfg(feature = "plugins")]
                plugins: OnceCell::new(),
                #[cfg(feature = "analytics")]
                analytics: OnceCell::new(),
                #[cfg(feature = "analytics")]
                usage_writes: std::sync::Mutex::new(tokio::task::JoinSet::new()),
            }),
        }
    }

    /// Loads the configuration — `path`, else `LLF_CONFIG`, else the default location (defaults
    /// when that file does not exist) — and opens its context. Encrypted secrets in it are
    /// decrypted with the OS keyring or `LLF_PASSPHRASE`; see [`Llf::open_with`] to ask the person.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        Self::open_with(path, &Unlock::default())
    }

    /// [`Llf::open`], with `unlock` supplying the passphrase of an encrypted configuration (a
    /// frontend's prompt) when neither the OS keyring nor `LLF_PASSPHRASE` has it.
    pub fn open_with(path: Option<&Path>, unlock: &Unlock) -> Result<Self> {
        let env = Environment::from_process();
        Ok(Self::new(ConfigFile::load_with(path, &env, unlock)?))
    }

    #[cfg_attr(
        not(any(feature = "rag", feature = "plugins", feature = "analytics")),
        allow(dead_code)
    )] // the handles beyond these fields
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// A handle that does not keep the context alive (for background tasks that end with it).
    #[cfg(feature = "plugins")]
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// The context of a handle from [`Llf::downgrade`], while it is alive.
    #[cfg(feature = "plugins")]
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    /// The configuration file (path, warnings, redacted view).
    pub fn config_file(&self) -> &ConfigFile {
        &self.inner.file
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.file.config()
    }

    /// The configured directories.
    pub fn paths(&self) -> &Paths {
        self.inner.file.paths()
    }

    /// Where every file lives.
    pub fn locations(&self) -> &Locations {
        &self.inner.locations
    }

    /// The HTTP API's keys.
    pub fn api_keys(&self) -> &crate::api_keys::ApiKeys {
        &self.inner.api_keys
    }

    /// Local servers, model clients, queues and performance records.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    /// The trash directory for files and directories, purged of expired items when first opened.
    /// See [`Llf::trash`] for the trash over everything deleted (files, memories, conversations).
    pub async fn file_trash(&self) -> Result<&llf_core::trash::Trash> {
        self.inner
            .file_trash
            .get_or_try_init(|| async {
                let trash = llf_core::trash::Trash::new(
                    self.locations().trash(),
                    self.locations().retention(),
                );
                let purged = trash.purge_expired().await?;
                if purged.items > 0 {
                    tracing::info!(
                        items = purged.items,
                        bytes = purged.bytes,
                        "purged expired trash items"
                    );
                }
                Ok::<_, Error>(trash)
            })
            .await
    }

    /// The conversation history (created on first use).
    #[cfg(feature = "history")]
    pub async fn history(&self) -> Result<&llf_history::History> {
        self.inner
            .history
            .get_or_try_init(|| async {
                let history = llf_history::History::open(self.locations().history_db()).await?;
                history.purge_deleted(self.locations().retention()).await?;
                Ok::<_, Error>(history)
            })
            .await
    }

    /// The conversation history when its database exists (it is not created).
    #[cfg(feature = "history")]
    pub async fn history_if_exists(&self) -> Result<Option<&llf_history::History>> {
        if self.inner.history.get().is_none() && !self.locations().history_db().exists() {
            return Ok(None);
        }
        self.history().await.map(Some)
    }

    /// The long-term memory database (created on first use).
    #[cfg(feature = "memory")]
    pub async fn memory(&self) -> Result<&llf_memory::MemoryStore> {
        self.inner
            .memory
            .get_or_try_init(|| async {
                let store = llf_memory::MemoryStore::open(self.locations().memory_db()).await?;
                store.purge_deleted(self.locations().retention()).await?;
                Ok::<_, Error>(store)
            })
            .await
    }

    /// The long-term memory database when it exists (it is not created).
    #[cfg(feature = "memory")]
    pub async fn memory_if_exists(&self) -> Result<Option<&llf_memory::MemoryStore>> {
        if self.inner.memory.get().is_none() && !self.locations().memory_db().exists() {
            return Ok(None);
        }
        self.memory().await.map(Some)
    }

    /// Long-term memory as chat context and as the `/remember` and `/memories` of a chat.
    #[cfg(feature = "memory")]
    pub async fn memory_context(&self) -> Result<llf_memory::MemoryContext> {
        Ok(llf_memory::MemoryContext::new(
            self.memory().await?.clone(),
            self.config().memory.clone(),
        ))
    }

    /// The prompt templates: the built-ins and the user's.
    #[cfg(feature = "templates")]
    pub fn templates(&self) -> llf_templates::TemplateStore {
        llf_templates::TemplateStore::new(self.locations().templates())
    }

    /// Retrieval over the data stores `names`, or the attached ones (`rag.attached_stores`, when
    /// `rag.enabled`) when `None`, with the persisted query caches. `None` when no store is named
    /// (or, for the attached ones, when retrieval is off).
    #[cfg(feature = "rag")]
    pub async fn rag_context(
        &self,
        names: Option<&[String]>,
    ) -> Result<Option<llf_rag::context::RagContext>> {
        let mut settings = self.config().rag.clone();
        if let Some(names) = names {
            // Stores named for this chat are wanted whatever `rag.enabled` says.
            settings.attached_stores = names.to_vec();
            settings.enabled = !names.is_empty();
        }
        let cache = self.locations().rag_cache();
        Ok(llf_rag::context::RagContext::from_settings(
            &settings,
            &self.locations().data_stores(),
            Some(&cache),
        )
        .await?)
    }

    /// Keeps the retrieval caches of `rag` for the next run.
    #[cfg(feature = "rag")]
    pub fn save_rag_cache(&self, rag: &llf_rag::context::RagContext) -> Result<()> {
        Ok(rag.retriever().save_cache(&self.locations().rag_cache())?)
    }
}
