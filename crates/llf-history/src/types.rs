//! The values the history stores and returns.

use chrono::{DateTime, Utc};
use llf_core::chat::{ChatMessage, Role};
use serde::{Deserialize, Serialize};

use crate::{HistoryError, Result};

/// Id of a message: a small integer, unique across the whole history, easy to type (`/goto 42`).
pub type MessageId = i64;

/// A conversation's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Unique, time-sortable id (a ULID); commands accept any unique prefix.
    pub id: String,
    /// Title shown in lists.
    pub title: String,
    /// Model the conversation was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last change (a new message, a rename).
    pub updated_at: DateTime<Utc>,
    /// The message the conversation continues from: the end of the active branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_leaf: Option<MessageId>,
    /// When it was deleted; deleted conversations are hidden until restored or purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// For an imported conversation, where it came from (see [`Conversation::origin`]):
    /// `chatgpt:<conversation id>` or `llf:<id in the exporting history>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// Prefix of the origin of a conversation that LLF itself started.
const LLF_ORIGIN: &str = "llf:";

impl Conversation {
    /// Where the conversation first came from: its [`source_id`](Self::source_id) when it was
    /// imported, else `llf:<its id>`. Two conversations with the same origin are copies of one
    /// conversation, which is how importing the same export twice is recognised.
    pub fn origin(&self) -> String {
        self.source_id
            .clone()
            .unwrap_or_else(|| format!("{LLF_ORIGIN}{}", self.id))
    }
}

/// The conversation id in an `llf:` origin.
pub(crate) fn llf_origin_id(origin: &str) -> Option<&str> {
    origin.strip_prefix(LLF_ORIGIN)
}

/// Most characters a conversation title may have.
pub const MAX_TITLE_CHARS: usize = 200;

/// `title` trimmed, when it is a usable title: some text, at most [`MAX_TITLE_CHARS`].
pub(crate) fn check_title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(HistoryError::EmptyTitle);
    }
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(HistoryError::TitleTooLong {
            chars,
            max: MAX_TITLE_CHARS,
        });
    }
    Ok(title.to_owned())
}

/// A conversation with counts, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    /// The header.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Messages in the whole tree.
    pub message_count: u64,
    /// Number of branches (leaves of the tree).
    pub branch_count: u64,
}

/// Token counts reported by the model for one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Prompt tokens the answer consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<u32>,
    /// Tokens of the answer itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<u32>,
}

/// Whether a message is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Finished.
    Complete,
    /// Saved while it was being generated and never finished: still streaming, or the stream
    /// was interrupted (crash, Ctrl-C). Its content is what had arrived.
    Partial,
}

impl MessageStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Partial => "partial",
        }
    }
}

/// A message as stored: the chat message plus its place in the tree and its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// Its id.
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: String,
    /// The message it answers or follows; `None` for a first message.
    #[serde(default)]
    pub parent_id: Option<MessageId>,
    /// Role, content, tool calls and tool result id.
    #[serde(flatten)]
    pub message: ChatMessage,
    /// The model that wrote it (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Token counts, when the model reported them.
    #[serde(default)]
    pub tokens: TokenCounts,
    /// Complete or partial.
    pub status: MessageStatus,
    /// When it was first saved.
    pub created_at: DateTime<Utc>,
    /// When it last changed (streaming updates it).
    pub updated_at: DateTime<Utc>,
}

impl StoredMessage {
    /// Its role.
    pub fn role(&self) -> Role {
        self.message.role
    }
}

/// A message to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The chat message.
    pub message: ChatMessage,
    /// The model that wrote it.
    pub model: Option<String>,
    /// Token counts.
    pub tokens: TokenCounts,
    /// Its time; `None` means now. Importers set it to keep the original times.
    pub created_at: Option<DateTime<Utc>>,
}

impl NewMessage {
    /// A message saved now, with no model or counts.
    pub fn new(message: ChatMessage) -> Self {
        Self {
            message,
            model: None,
            tokens: TokenCounts::default(),
            created_at: None,
        }
    }
    /// Sets the model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
    /// Sets the token counts.
    pub fn tokens(mut self, tokens: TokenCounts) -> Self {
        self.tokens = tokens;
        self
    }
    /// Sets the creation time.
    pub fn at(mut self, time: DateTime<Utc>) -> Self {
        self.created_at = Some(time);
        self
    }
}

impl From<ChatMessage> for NewMessage {
    fn from(message: ChatMessage) -> Self {
        Self::new(message)
    }
}

/// A leaf of the tree: one branch of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    /// The last message of the branch.
    pub leaf: StoredMessage,
    /// Messages from the root to the leaf, leaf included.
    pub length: u64,
    /// Whether this is the branch the conversation continues from.
    pub current: bool,
}

/// Two branches side by side: what they share and where they part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchComparison {
    /// Messages common to both, from the root.
    pub common: Vec<StoredMessage>,
    /// The rest of the first branch.
    pub left: Vec<StoredMessage>,
    /// The rest of the second branch.
    pub right: Vec<StoredMessage>,
}

/// A whole conversation: the header and every message of the tree, parents before children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationTree {
    /// The header.
    pub conversation: Conversation,
    /// All messages, ordered by id (so a parent always comes before its children).
    pub messages: Vec<StoredMessage>,
}

impl ConversationTree {
    /// Messages from the root to `leaf`, in order; empty when `leaf` is not in the tree.
    pub fn path_to(&self, leaf: MessageId) -> Vec<&StoredMessage> {
        let by_id: std::collections::HashMap<MessageId, &StoredMessage> =
            self.messages.iter().map(|m| (m.id, m)).collect();
        let mut path = Vec::new();
        let mut next = Some(leaf);
        while let Some(id) = next {
            let Some(m) = by_id.get(&id) else { break };
            path.push(*m);
            next = m.parent_id;
            if path.len() > self.messages.len() {
                break; // a cycle in damaged data; stop rather than loop forever
            }
        }
        path.reverse();
        path
    }

    /// Ids of the messages that have no children, in id order.
    pub fn leaves(&self) -> Vec<MessageId> {
        let parents: std::collections::HashSet<MessageId> =
            self.messages.iter().filter_map(|m| m.parent_id).collect();
        self.messages
            .iter()
            .map(|m| m.id)
            .filter(|id| !parents.contains(id))
            .collect()
    }

    /// The children of `id` (`None`: the roots), in id order.
    pub fn children(&self, id: Option<MessageId>) -> Vec<&StoredMessage> {
        self.messages.iter().filter(|m| m.parent_id == id).collect()
    }
}

/// What [`crate::History::insert_tree_if_new`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeInsert {
    /// The tree was saved as this new conversation.
    Inserted(Conversation),
    /// This conversation (live or in the trash) has the tree's origin already; nothing was saved.
    AlreadyPresent(Conversation),
}

/// Which conversations [`crate::History::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Deleted conversations instead of live ones.
    pub deleted: bool,
    /// At most this many, most recently updated first.
    pub limit: Option<u32>,
}
