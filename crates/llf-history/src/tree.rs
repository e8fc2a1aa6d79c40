//! Messages and the tree they form: appending (whole or streamed), branching, navigating.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use crate::rows::{self, MESSAGE_COLUMNS, millis};
use crate::store::History;
use crate::types::{
    Branch, BranchComparison, Conversation, ConversationTree, MessageId, MessageStatus, NewMessage,
    StoredMessage, TokenCounts, TreeInsert, check_title, llf_origin_id,
};
use crate::{HistoryError, Result};

/// The final state of a streamed message, given to [`History::finish_message`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finish {
    /// The whole text.
    pub content: String,
    /// Tool calls the model made.
    pub tool_calls: Vec<llf_core::chat::ToolCall>,
    /// Token counts.
    pub tokens: TokenCounts,
}

impl History {
    /// Appends a message after the conversation's current leaf and makes it the new leaf.
    pub async fn append(
        &self,
        conversation: &str,
        message: impl Into<NewMessage>,
    ) -> Result<StoredMessage> {
        let conv = self.live(conversation).await?;
        self.insert(
            &conv,
            conv.current_leaf,
            message.into(),
            MessageStatus::Complete,
        )
        .await
    }

    /// Appends a message as a child of `parent` (`None`: a new first message), starting a new
    /// branch when `parent` already has children, and makes it the current leaf.
    pub async fn append_under(
        &self,
        conversation: &str,
        parent: Option<MessageId>,
        message: impl Into<NewMessage>,
    ) -> Result<StoredMessage> {
        let conv = self.live(conversation).await?;
        if let Some(p) = parent {
            self.message_in(&conv.id, p).await?;
        }
        self.insert(&conv, parent, message.into(), MessageStatus::Complete)
            .await
    }

    /// Saves `message` as a sibling of `of` (an alternative answer to the same parent): the
    /// "regenerate" of a chat. It becomes the current leaf.
    pub async fn regenerate(
        &self,
        conversation: &str,
        of: MessageId,
        message: impl Into<NewMessage>,
    ) -> Result<StoredMessage> {
        let conv = self.live(conversation).await?;
        let old = self.message_in(&conv.id, of).await?;
        let parent = old.parent_id.ok_or(HistoryError::NoParent(of))?;
        self.insert(&conv, Some(parent), message.into(), MessageStatus::Complete)
            .await
    }

    /// Starts a message that will be streamed in (usually an assistant answer): it is saved at
    /// once as [`MessageStatus::Partial`] after the current leaf and becomes the new leaf, so a
    /// crash at any later point keeps everything up to it. Feed it with
    /// [`History::update_content`] and seal it with [`History::finish_message`].
    pub async fn start_message(
        &self,
        conversation: &str,
        message: impl Into<NewMessage>,
    ) -> Result<StoredMessage> {
        let conv = self.live(conversation).await?;
        self.insert(
            &conv,
            conv.current_leaf,
            message.into(),
            MessageStatus::Partial,
        )
        .await
    }

    /// Replaces the text of a partial message with what has arrived so far. Each call is one
    /// committed transaction; call it every few tokens or milliseconds, not for every byte.
    pub async fn update_content(&self, id: MessageId, content: &str) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE messages SET content = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'partial'",
        )
        .bind(id)
        .bind(content)
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if done == 0 {
            return Err(self.missing(id).await);
        }
        Ok(())
    }

    /// Seals a message started with [`History::start_message`] with its final content.
    pub async fn finish_message(&self, id: MessageId, finish: Finish) -> Result<StoredMessage> {
        let calls = serde_json::to_string(&finish.tool_calls)
            .map_err(|e| HistoryError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE messages SET content = ?2, tool_calls = ?3, prompt_tokens = ?4,
                completion_tokens = ?5, status = 'complete', updated_at = ?6 WHERE id = ?1",
        )
        .bind(id)
        .bind(&finish.content)
        .bind(calls)
        .bind(finish.tokens.prompt.map(i64::from))
        .bind(finish.tokens.completion.map(i64::from))
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if done == 0 {
            return Err(self.missing(id).await);
        }
        self.message(id).await
    }

    /// One message by id.
    pub async fn message(&self, id: MessageId) -> Result<StoredMessage> {
        let row = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => rows::message(&r),
            None => Err(HistoryError::MessageNotFound {
                conversation: "?".to_owned(),
                id,
            }),
        }
    }

    /// Makes `message` the current leaf: the conversation continues from there. Going to a
    /// message in the middle of a branch and appending starts a new branch from it.
    pub async fn checkout(&self, conversation: &str, message: MessageId) -> Result<StoredMessage> {
        let conv = self.live(conversation).await?;
        let m = self.message_in(&conv.id, message).await?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET current_leaf = ?2 WHERE id = ?1")
            .bind(&conv.id)
            .bind(m.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(m)
    }

    /// The messages from the root to `leaf`.
    pub async fn path(&self, conversation: &str, leaf: MessageId) -> Result<Vec<StoredMessage>> {
        let conv = self.conversation(conversation).await?;
        self.message_in(&conv.id, leaf).await?;
        let rows = sqlx::query(&format!(
            "WITH RECURSIVE up(id, depth) AS (
                SELECT id, 0 FROM messages WHERE id = ?1
                UNION ALL
                SELECT p.parent_id, up.depth + 1 FROM messages p JOIN up ON p.id = up.id
                WHERE p.parent_id IS NOT NULL
             )
             SELECT {MESSAGE_COLUMNS} FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC"
        ))
        .bind(leaf)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::message).collect()
    }

    /// The messages of the active branch (root to current leaf): what a chat resumes with.
    pub async fn current_path(&self, conversation: &str) -> Result<Vec<StoredMessage>> {
        let conv = self.conversation(conversation).await?;
        match conv.current_leaf {
            Some(leaf) => self.path(&conv.id, leaf).await,
            None => Ok(Vec::new()),
        }
    }

    /// Every message of the conversation and its header.
    pub async fn tree(&self, conversation: &str) -> Result<ConversationTree> {
        let conv = self.conversation(conversation).await?;
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = ?1 ORDER BY m.id"
        ))
        .bind(&conv.id)
        .fetch_all(&self.pool)
        .await?;
        let messages = rows.iter().map(rows::message).collect::<Result<Vec<_>>>()?;
        Ok(ConversationTree {
            conversation: conv,
            messages,
        })
    }

    /// The branches of the conversation (one per leaf), oldest first.
    pub async fn branches(&self, conversation: &str) -> Result<Vec<Branch>> {
        let tree = self.tree(conversation).await?;
        let current = tree.conversation.current_leaf;
        let by_id: HashMap<MessageId, &StoredMessage> =
            tree.messages.iter().map(|m| (m.id, m)).collect();
        let mut out = Vec::new();
        for leaf in tree.leaves() {
            let path = tree.path_to(leaf);
            let Some(m) = by_id.get(&leaf) else { continue };
            out.push(Branch {
                leaf: (*m).clone(),
                length: path.len() as u64,
                // A position in the middle of a branch (after a checkout) still marks it.
                current: current.is_some_and(|c| path.iter().any(|p| p.id == c)),
            });
        }
        Ok(out)
    }

    /// Compares the branches ending at `left` and `right`.
    pub async fn compare(
        &self,
        conversation: &str,
        left: MessageId,
        right: MessageId,
    ) -> Result<BranchComparison> {
        let a = self.path(conversation, left).await?;
        let b = self.path(conversation, right).await?;
        let shared = a.iter().zip(&b).take_while(|(x, y)| x.id == y.id).count();
        Ok(BranchComparison {
            common: a[..shared].to_vec(),
            left: a[shared..].to_vec(),
            right: b[shared..].to_vec(),
        })
    }

    /// Saves a whole tree as a new conversation (import): new ids, same shape, times, models,
    /// counts and statuses, and the header's `source_id`. The current leaf maps to its copy. One
    /// transaction: all or nothing. The title follows the rules of
    /// [`History::create_conversation`].
    pub async fn insert_tree(&self, tree: &ConversationTree) -> Result<Conversation> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_tree_in(&mut tx, tree).await?;
        tx.commit().await?;
        self.conversation(&id).await
    }

    /// [`History::insert_tree`], unless a conversation with the same
    /// [origin](Conversation::origin) as `tree.conversation` is in the history already, live or
    /// in the trash: the same export imported again, or an export of a conversation of this
    /// history. The check and the insert are one transaction, so two imports at once still
    /// save one copy.
    pub async fn insert_tree_if_new(&self, tree: &ConversationTree) -> Result<TreeInsert> {
        let origin = tree.conversation.origin();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE source_id = ?1 OR id = ?2 ORDER BY created_at, id LIMIT 1",
        )
        .bind(&origin)
        .bind(llf_origin_id(&origin))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            tx.rollback().await?;
            return Ok(TreeInsert::AlreadyPresent(
                self.conversation(&existing).await?,
            ));
        }
        let id = insert_tree_in(&mut tx, tree).await?;
        tx.commit().await?;
        Ok(TreeInsert::Inserted(self.conversation(&id).await?))
    }

    async fn insert(
        &self,
        conv: &Conversation,
        parent: Option<MessageId>,
        message: NewMessage,
        status: MessageStatus,
    ) -> Result<StoredMessage> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let time = message.created_at.unwrap_or_else(Utc::now);
        let id = insert_row(&mut tx, &conv.id, parent, &message, status, time).await?;
        sqlx::query("UPDATE conversations SET current_leaf = ?2, updated_at = max(updated_at, ?3) WHERE id = ?1")
            .bind(&conv.id)
            .bind(id)
            .bind(millis(time))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(conversation = %conv.id, message = id, role = %message.message.role, "message saved");
        self.message(id).await
    }

    async fn message_in(&self, conversation: &str, id: MessageId) -> Result<StoredMessage> {
        match self.message(id).await {
            Ok(m) if m.conversation_id == conversation => Ok(m),
            Ok(_) | Err(HistoryError::MessageNotFound { .. }) => {
                Err(HistoryError::MessageNotFound {
                    conversation: conversation.to_owned(),
                    id,
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn missing(&self, id: MessageId) -> HistoryError {
        match self.message(id).await {
            Ok(m) => HistoryError::InvalidTree(format!(
                "message {} is already complete; only partial messages can be updated",
                m.id
            )),
            Err(e) => e,
        }
    }
}

async fn insert_row(
    tx: &mut Transaction<'_, Sqlite>,
    conversation: &str,
    parent: Option<MessageId>,
    m: &NewMessage,
    status: MessageStatus,
    updated_at: DateTime<Utc>,
) -> Result<MessageId> {
    let calls = serde_json::to_string(&m.message.tool_calls)
        .map_err(|e| HistoryError::Corrupt(e.to_string()))?;
    let created = m.created_at.unwrap_or_else(Utc::now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO messages (conversation_id, parent_id, role, content, tool_calls, tool_call_id,
            model, prompt_tokens, completion_tokens, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
    )
    .bind(conversation)
    .bind(parent)
    .bind(m.message.role.as_str())
    .bind(&m.message.content)
    .bind(calls)
    .bind(&m.message.tool_call_id)
    .bind(&m.model)
    .bind(m.tokens.prompt.map(i64::from))
    .bind(m.tokens.completion.map(i64::from))
    .bind(status.as_str())
    .bind(millis(created))
    .bind(millis(updated_at.max(created)))
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// Inserts `tree` as a new conversation inside `tx`; returns its id.
async fn insert_tree_in(
    tx: &mut Transaction<'_, Sqlite>,
    tree: &ConversationTree,
) -> Result<String> {
    let title = check_title(&tree.conversation.title)?;
    let id = ulid::Ulid::new().to_string();
    sqlx::query(
        "INSERT INTO conversations (id, title, model, created_at, updated_at, source_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&id)
    .bind(&title)
    .bind(&tree.conversation.model)
    .bind(millis(tree.conversation.created_at))
    .bind(millis(
        tree.conversation
            .updated_at
            .max(tree.conversation.created_at),
    ))
    .bind(&tree.conversation.source_id)
    .execute(&mut **tx)
    .await?;
    let mut map: HashMap<MessageId, MessageId> = HashMap::new();
    let mut pending: Vec<&StoredMessage> = tree.messages.iter().collect();
    // Parents first, whatever order the file listed them in.
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for m in pending {
            let parent = match m.parent_id {
                None => None,
                Some(p) => match map.get(&p) {
                    Some(new) => Some(*new),
                    None => {
                        rest.push(m);
                        continue;
                    }
                },
            };
            if map.contains_key(&m.id) {
                return Err(HistoryError::InvalidTree(format!(
                    "message id {} appears twice",
                    m.id
                )));
            }
            let new = NewMessage {
                message: m.message.clone(),
                model: m.model.clone(),
                tokens: m.tokens,
                created_at: Some(m.created_at),
            };
            let new_id = insert_row(tx, &id, parent, &new, m.status, m.updated_at).await?;
            map.insert(m.id, new_id);
        }
        if rest.len() == before {
            return Err(HistoryError::InvalidTree(format!(
                "message {} refers to a parent that is not in the conversation",
                rest.first().map_or(0, |m| m.id)
            )));
        }
        pending = rest;
    }
    let leaf = tree
        .conversation
        .current_leaf
        .and_then(|l| map.get(&l).copied())
        .or_else(|| tree.leaves().last().and_then(|l| map.get(l).copied()));
    sqlx::query("UPDATE conversations SET current_leaf = ?2 WHERE id = ?1")
        .bind(&id)
        .bind(leaf)
        .execute(&mut **tx)
        .await?;
    tracing::info!(conversation = %id, messages = map.len(), source = ?tree.conversation.source_id, "conversation imported");
    Ok(id)
}
