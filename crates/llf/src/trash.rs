//! One trash over everything LLF deletes: files and directories (models, data stores, templates,
//! tools) in the trash directory, and the memories and conversations that their databases keep
//! soft-deleted until the retention passes.

use llf_core::trash::{ItemType, PurgeReport, TrashFilter, TrashItem};
use serde::Serialize;

use crate::{Error, Llf, Result};

/// Everything in the trash.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrashListing {
    /// Deleted files and directories.
    pub files: Vec<TrashItem>,
    /// Deleted memories.
    #[cfg(feature = "memory")]
    pub memories: Vec<llf_memory::DeletedMemory>,
    /// Deleted conversations.
    #[cfg(feature = "history")]
    pub conversations: Vec<llf_history::Conversation>,
}

impl TrashListing {
    /// Number of deleted items of every kind.
    pub fn len(&self) -> usize {
        #[allow(unused_mut)] // grows only with the memory and history features
        let mut n = self.files.len();
        #[cfg(feature = "memory")]
        {
            n += self.memories.len();
        }
        #[cfg(feature = "history")]
        {
            n += self.conversations.len();
        }
        n
    }

    /// Whether nothing is in the trash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Trash::restore`] brought back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Restored {
    /// A file or directory, back at its original path.
    File(TrashItem),
    /// A memory, back in its store.
    #[cfg(feature = "memory")]
    Memory(llf_memory::Memory),
    /// A conversation, back in the history.
    #[cfg(feature = "history")]
    Conversation(llf_history::Conversation),
}

/// What [`Trash::empty`] removed for good.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmptyReport {
    /// Files and directories removed, and the bytes they took.
    pub files: PurgeReport,
    /// Memories removed.
    pub memories: u64,
    /// Conversations removed.
    pub conversations: u64,
}

/// The trash over files, memories and conversations (see the module docs).
#[derive(Debug, Clone)]
pub struct Trash {
    llf: Llf,
}

impl Llf {
    /// The trash over everything deleted: files, memories and conversations.
    pub fn trash(&self) -> Trash {
        Trash { llf: self.clone() }
    }
}

impl Trash {
    /// How long deleted items are kept.
    pub fn retention(&self) -> std::time::Duration {
        self.llf.locations().retention()
    }

    /// The deleted items passing `filter` (type, text in the name), of every kind. Opening the
    /// databases purges what outlived the retention.
    pub async fn list(&self, filter: &TrashFilter) -> Result<TrashListing> {
        let wants = |t: ItemType| filter.item_type.is_none_or(|f| f == t);
        let contains = |text: &str| {
            filter
                .name_contains
                .as_ref()
                .is_none_or(|n| text.to_lowercase().contains(&n.to_lowercase()))
        };
        #[allow(unused_mut)] // filled further only with the memory and history features
        let mut listing = TrashListing {
            files: self.llf.file_trash().await?.list(filter).await?,
            ..TrashListing::default()
        };
        #[cfg(feature = "memory")]
        if wants(ItemType::Memory)
            && let Some(store) = self.llf.memory_if_exists().await?
        {
            listing.memories = store.list_deleted(None).await?;
            listing.memories.retain(|d| contains(&d.preview));
        }
        #[cfg(feature = "history")]
        if wants(ItemType::Conversation)
            && let Some(history) = self.llf.history_if_exists().await?
        {
            listing.conversations = history
                .list(&llf_history::ListFilter {
                    deleted: true,
                    limit: None,
                })
                .await?
                .into_iter()
                .map(|s| s.conversation)
                .filter(|c| contains(&c.title))
                .collect();
        }
        let _ = (wants, contains);
        Ok(listing)
    }

    /// Puts the item with this id back: a file where it was (refusing to overwrite), a memory in
    /// its store, a conversation in the history.
    pub async fn restore(&self, id: &str) -> Result<Restored> {
        let files = self.llf.file_trash().await?;
        // A data store comes back only while nothing else changes a store of its name.
        #[cfg(feature = "rag")]
        let _lock = llf_rag::catalog::lock_for_restore(files, id).await?;
        match files.restore(id).await {
            Ok(item) => return Ok(Restored::File(item)),
            Err(llf_core::Error::NotInTrash(_)) => {}
            Err(e) => return Err(e.into()),
        }
        #[cfg(feature = "memory")]
        if let Some(store) = self.llf.memory_if_exists().await? {
            match store.restore(id).await {
                Ok(m) => return Ok(Restored::Memory(m)),
                Err(llf_memory::MemoryError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        #[cfg(feature = "history")]
        if let Some(history) = self.llf.history_if_exists().await? {
            match history.restore(id).await {
                Ok(c) => return Ok(Restored::Conversation(c)),
                Err(llf_history::HistoryError::ConversationNotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::NotInTrash(id.to_owned()))
    }

    /// Removes for good every deleted item, or those of one type.
    pub async fn empty(&self, item_type: Option<ItemType>) -> Result<EmptyReport> {
        let wants = |t: ItemType| item_type.is_none_or(|f| f == t);
        #[allow(unused_mut)] // filled further only with the memory and history features
        let mut report = EmptyReport {
            files: self.llf.file_trash().await?.empty(item_type).await?,
            ..EmptyReport::default()
        };
        #[cfg(feature = "memory")]
        if wants(ItemType::Memory)
            && let Some(store) = self.llf.memory_if_exists().await?
        {
            report.memories = store.purge_deleted(std::time::Duration::ZERO).await?;
        }
        #[cfg(feature = "history")]
        if wants(ItemType::Conversation)
            && let Some(history) = self.llf.history_if_exists().await?
        {
            report.conversations = history.purge_deleted(std::time::Duration::ZERO).await?;
        }
        let _ = wants;
        Ok(report)
    }
}
