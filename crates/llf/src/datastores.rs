//! Data stores and the embedding model, where the configuration puts them.

use std::path::PathBuf;

use llf_rag::embed::{Embedder, EmbedderConfig};
use llf_rag::progress::Progress;
use llf_rag::store::{AddReport, DataStore, StoreOptions};

use crate::{Llf, Result};

impl Llf {
    /// The embedding model of `rag` (loaded on first use, then shared by every caller of this
    /// context).
    pub async fn embedder(&self) -> Result<Embedder> {
        let e = self
            .inner()
            .embedder
            .get_or_try_init(|| async {
                let config = EmbedderConfig::from_settings(&self.config().rag)?;
                Ok::<_, crate::Error>(Embedder::load(config).await?)
            })
            .await?;
        Ok(e.clone())
    }

    /// Opens the data store `name`.
    pub async fn datastore(&self, name: &str) -> Result<DataStore> {
        Ok(DataStore::open(&self.locations().data_stores(), name).await?)
    }

    /// Creates the data store `name` (chunking and index as `rag` says) and adds `paths` to it:
    /// files, and directories walked for the file types LLF reads. Progress goes to `progress`.
    pub async fn create_datastore(
        &self,
        name: &str,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<(DataStore, AddReport)> {
        let embedder = self.embedder().await?;
        let options = StoreOptions::from_settings(&self.config().rag);
        let mut store = DataStore::create(
            &self.locations().data_stores(),
            name,
            embedder.model(),
            &options,
        )
        .await?;
        let report = if paths.is_empty() {
            AddReport::default()
        } else {
            store.add_paths(&embedder, paths, progress).await?
        };
        Ok((store, report))
    }
}
