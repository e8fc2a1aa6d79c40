//! Building the messages sent to the model: the system prompt, context from the registered
//! [`ContextProvider`]s (memory, retrieval, …), the conversation, and the new message — checked
//! against the model's real context window, refusing or trimming the oldest turns as configured,
//! never truncating silently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llf_config::schema::{ContextOverflow, PromptSettings};
use llf_core::chat::{ChatMessage, Role};
use llf_core::context::{ContextProvider, ContextQuery, ContextSection};
use serde::Serialize;

use crate::{Result, RuntimeError};

/// Counts the tokens a list of messages takes once the chat template is applied.
#[async_trait::async_trait]
pub trait TokenCounter: Send + Sync {
    /// Tokens of `messages` as the model will see them.
    async fn count(&self, messages: &[ChatMessage]) -> Result<usize>;
}

/// Exact counts from a running llama-server: `/apply-template` then `/tokenize`.
#[derive(Debug, Clone)]
pub struct LlamaTokenCounter {
    root_url: String,
    http: reqwest::Client,
}

impl LlamaTokenCounter {
    /// A counter for the server at `root_url` (`http://host:port`).
    pub fn new(root_url: impl Into<String>) -> Self {
        let root_url = root_url.into();
        Self {
            http: crate::http::for_url(&root_url),
            root_url,
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.root_url);
        let err = |message: String| RuntimeError::Request {
            endpoint: url.clone(),
            message,
            status: None,
        };
        self.http
            .post(&url)
            .json(&body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| err(e.to_string()))?
            .json()
            .await
            .map_err(|e| err(e.to_string()))
    }
}

#[async_trait::async_trait]
impl TokenCounter for LlamaTokenCounter {
    async fn count(&self, messages: &[ChatMessage]) -> Result<usize> {
        let templated = self
            .post(
                "/apply-template",
                serde_json::json!({ "messages": messages }),
            )
            .await?;
        let prompt = templated
            .get("prompt")
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_owned();
        let tokens = self
            .post("/tokenize", serde_json::json!({ "content": prompt }))
            .await?;
        Ok(tokens
            .get("tokens")
            .and_then(|t| t.as_array())
            .map(Vec::len)
            .unwrap_or(0))
    }
}

/// An estimate for endpoints that cannot count: four characters a token plus a few tokens of
/// template per message. Errs on the generous side.
#[derive(Debug, Clone, Copy, Default)]
pub struct EstimatingCounter;

#[async_trait::async_trait]
impl TokenCounter for EstimatingCounter {
    async fn count(&self, messages: &[ChatMessage]) -> Result<usize> {
        Ok(messages
            .iter()
            .map(|m| m.content.chars().count().div_ceil(4) + 6)
            .sum())
    }
}

/// The model's window and how much of it the answer needs.
#[derive(Clone)]
pub struct ContextLimit {
    /// Context size in tokens (llama-server `/props`).
    pub context_size: usize,
    /// Tokens kept free for the answer (`max_tokens`).
    pub reserve: usize,
    /// How to count.
    pub counter: Arc<dyn TokenCounter>,
}

impl std::fmt::Debug for ContextLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextLimit")
            .field("context_size", &self.context_size)
            .field("reserve", &self.reserve)
            .finish()
    }
}

/// Context one provider added.
#[derive(Debug, Clone, Serialize)]
pub struct ProvidedContext {
    /// Provider name.
    pub provider: String,
    /// What it returned.
    pub section: ContextSection,
    /// How long it took.
    pub elapsed: Duration,
}

/// The messages to send, and how they were made.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltPrompt {
    /// The final messages.
    pub messages: Vec<ChatMessage>,
    /// Context that providers added.
    pub context: Vec<ProvidedContext>,
    /// Old messages dropped to fit the window.
    pub trimmed_messages: usize,
    /// Prompt tokens, when a limit was checked.
    pub prompt_tokens: Option<usize>,
    /// Time spent building.
    pub elapsed: Duration,
}

/// An upper bound of the tokens `messages` take with any byte-level tokenizer: one token per
/// byte of content, plus a generous allowance for the chat template's own tokens.
fn byte_bound(messages: &[ChatMessage]) -> usize {
    const TEMPLATE_PER_MESSAGE: usize = 16;
    const TEMPLATE_PER_PROMPT: usize = 32;
    messages
        .iter()
        .map(|m| m.content.len() + TEMPLATE_PER_MESSAGE)
        .sum::<usize>()
        + TEMPLATE_PER_PROMPT
}

/// Assembles prompts; cheap to clone.
#[derive(Clone, Default)]
pub struct PromptBuilder {
    system_prompt: Option<String>,
    overflow: ContextOverflow,
    providers: Vec<Arc<dyn ContextProvider>>,
}

impl std::fmt::Debug for PromptBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptBuilder")
            .field("system_prompt", &self.system_prompt)
            .field("overflow", &self.overflow)
            .field(
                "providers",
                &self
                    .providers
                    .iter()
                    .map(|p| p.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PromptBuilder {
    /// A builder with the system prompt and overflow policy of `settings`.
    pub fn new(settings: &PromptSettings) -> Self {
        Self {
            system_prompt: settings.system_prompt.clone(),
            overflow: settings.context_overflow,
            providers: Vec::new(),
        }
    }

    /// Adds a context provider; providers are asked in the order they were added.
    pub fn with_provider(mut self, provider: Arc<dyn ContextProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// Replaces the system prompt.
    pub fn set_system_prompt(&mut self, prompt: Option<String>) {
        self.system_prompt = prompt;
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// Builds the messages for `user_message` after `history` (which holds no system message).
    pub async fn build(
        &self,
        history: &[ChatMessage],
        user_message: &str,
        limit: Option<&ContextLimit>,
    ) -> Result<BuiltPrompt> {
        let start = Instant::now();
        let query = ContextQuery {
            user_message: user_message.to_owned(),
            history: history.to_vec(),
        };
        let mut context = Vec::new();
        for p in &self.providers {
            let t = Instant::now();
            let section = p
                .provide(&query)
                .await
                .map_err(|source| RuntimeError::Context {
                    provider: p.name().to_owned(),
                    source,
                })?;
            let elapsed = t.elapsed();
            if let Some(section) = section.filter(|s| !s.items.is_empty()) {
                for item in &section.items {
                    tracing::debug!(provider = p.name(), score = item.score, citation = ?item.citation, "context item");
                }
                context.push(ProvidedContext {
                    provider: p.name().to_owned(),
                    section,
                    elapsed,
                });
            }
        }
        let system = system_message(self.system_prompt.as_deref(), &context);
        let mut turns: Vec<ChatMessage> = history
            .iter()
            .filter(|m| m.role != Role::System)
            .cloned()
            .collect();
        let user = ChatMessage::user(user_message);
        let assemble = |turns: &[ChatMessage]| -> Vec<ChatMessage> {
            system
                .iter()
                .cloned()
                .chain(turns.iter().cloned())
                .chain(std::iter::once(user.clone()))
                .collect()
        };
        let mut messages = assemble(&turns);
        let mut trimmed = 0;
        let mut prompt_tokens = None;
        // No exact count (two llama-server round trips) when the prompt cannot reach the budget:
        // a token covers at least one byte of text.
        let limit =
            limit.filter(|l| byte_bound(&messages) > l.context_size.saturating_sub(l.reserve));
        if let Some(limit) = limit {
            let budget = limit.context_size.saturating_sub(limit.reserve);
            loop {
                let tokens = limit.counter.count(&messages).await?;
                prompt_tokens = Some(tokens);
                if tokens <= budget {
                    break;
                }
                if self.overflow == ContextOverflow::TrimOldest && !turns.is_empty() {
                    // Drop the oldest turn: a user message and every reply up to the next one.
                    let end = turns
                        .iter()
                        .skip(1)
                        .position(|m| m.role == Role::User)
                        .map(|i| i + 1)
                        .unwrap_or(turns.len());
                    turns.drain(..end);
                    trimmed += end;
                    messages = assemble(&turns);
                    continue;
                }
                return Err(RuntimeError::ContextOverflow {
                    prompt: tokens,
                    reserved: limit.reserve,
                    needed: tokens + limit.reserve,
                    context: limit.context_size,
                });
            }
            if trimmed > 0 {
                tracing::info!(
                    trimmed,
                    "dropped the oldest messages to fit the context window"
                );
            }
        }
        for (i, m) in messages.iter().enumerate() {
            tracing::debug!(index = i, role = %m.role, chars = m.content.len(), content = %m.content, "prompt message");
        }
        Ok(BuiltPrompt {
            messages,
            context,
            trimmed_messages: trimmed,
            prompt_tokens,
            elapsed: start.elapsed(),
        })
    }
}

/// The system prompt with provided context appended as cited sections.
fn system_message(prompt: Option<&str>, context: &[ProvidedContext]) -> Option<ChatMessage> {
    let mut text = prompt.unwrap_or_default().to_owned();
    for c in context {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!("{}:", c.section.title));
        for item in &c.section.items {
            text.push_str("\n- ");
            text.push_str(item.text.trim());
            if let Some(cite) = &item.citation {
                text.push_str(&format!(" [{cite}]"));
            }
        }
    }
    (!text.is_empty()).then(|| ChatMessage::system(text))
}

#[cfg(test)]
mod tests {
    use llf_core::context::ContextItem;

    use super::*;

    struct Fixed;

    #[async_trait::async_trait]
    impl ContextProvider for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        async fn provide(
            &self,
            q: &ContextQuery,
        ) -> std::result::Result<Option<ContextSection>, llf_core::BoxError> {
            Ok(Some(ContextSection {
                title: "Relevant memories".into(),
                items: vec![ContextItem {
                    text: format!("about {}", q.user_message),
                    score: 0.9,
                    citation: Some("mem:1".into()),
                }],
            }))
        }
    }

    fn settings(overflow: ContextOverflow) -> PromptSettings {
        PromptSettings {
            system_prompt: Some("Be brief.".into()),
            context_overflow: overflow,
        }
    }

    #[tokio::test]
    async fn context_is_added_to_the_system_message() {
        let b =
            PromptBuilder::new(&settings(ContextOverflow::Error)).with_provider(Arc::new(Fixed));
        let built = b.build(&[], "cats", None).await.unwrap();
        assert_eq!(built.messages.len(), 2);
        assert_eq!(
            built.messages[0].content,
            "Be brief.\n\nRelevant memories:\n- about cats [mem:1]"
        );
        assert_eq!(built.messages[1], ChatMessage::user("cats"));
        assert_eq!(built.context[0].provider, "fixed");
    }

    fn long_history() -> Vec<ChatMessage> {
        (0..6)
            .flat_map(|i| {
                [
                    ChatMessage::user(format!("question {i} {}", "x".repeat(200))),
                    ChatMessage::assistant("y".repeat(200)),
                ]
            })
            .collect()
    }

    #[tokio::test]
    async fn overflow_is_refused_with_sizes() {
        let b = PromptBuilder::new(&settings(ContextOverflow::Error));
        let limit = ContextLimit {
            context_size: 300,
            reserve: 100,
            counter: Arc::new(EstimatingCounter),
        };
        let err = b
            .build(&long_history(), "hi", Some(&limit))
            .await
            .unwrap_err();
        match err {
            RuntimeError::ContextOverflow {
                reserved,
                context,
                needed,
                prompt,
            } => {
                assert_eq!((reserved, context), (100, 300));
                assert_eq!(needed, prompt + 100);
                assert!(prompt > 200);
            }
            other => panic!("{other}"),
        }
    }

    /// Counts how often it was asked.
    struct Calls(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl TokenCounter for Calls {
        async fn count(&self, messages: &[ChatMessage]) -> Result<usize> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            EstimatingCounter.count(messages).await
        }
    }

    #[tokio::test]
    async fn prompts_far_below_the_window_are_not_counted_exactly() {
        let b = PromptBuilder::new(&settings(ContextOverflow::Error));
        let calls = Arc::new(Calls(Default::default()));
        let limit = ContextLimit {
            context_size: 8192,
            reserve: 512,
            counter: calls.clone(),
        };
        let built = b
            .build(&[], "Say hi in three words", Some(&limit))
            .await
            .unwrap();
        assert_eq!(calls.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(built.prompt_tokens, None);
        // Near the window the exact count runs.
        let long = "word ".repeat(1600);
        let built = b.build(&[], &long, Some(&limit)).await.unwrap();
        assert_eq!(calls.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(built.prompt_tokens.is_some());
    }

    #[tokio::test]
    async fn trim_oldest_drops_whole_turns_and_keeps_the_system_prompt() {
        let b = PromptBuilder::new(&settings(ContextOverflow::TrimOldest));
        let limit = ContextLimit {
            context_size: 400,
            reserve: 100,
            counter: Arc::new(EstimatingCounter),
        };
        let built = b.build(&long_history(), "hi", Some(&limit)).await.unwrap();
        assert!(
            built.trimmed_messages >= 2 && built.trimmed_messages % 2 == 0,
            "{}",
            built.trimmed_messages
        );
        assert_eq!(built.messages[0].content, "Be brief.");
        assert_eq!(
            built.messages[1].role,
            Role::User,
            "history resumes at a user turn"
        );
        assert_eq!(built.messages.last().unwrap(), &ChatMessage::user("hi"));
        assert!(built.prompt_tokens.unwrap() <= 300);
        // Even trimming everything cannot fit a giant message: a clear error.
        let err = b
            .build(&[], &"z".repeat(5000), Some(&limit))
            .await
            .unwrap_err();
        assert!(matches!(err, RuntimeError::ContextOverflow { .. }));
    }
}
