//! The plugin hooks of a turn: pass-throughs when the `plugins` feature is off, so the turn reads
//! the same either way.

use llf_core::chat::ChatMessage;

use crate::Result;

/// What `pre_request` decided.
pub(crate) enum Prompt {
    /// Send these messages to the model.
    Send(Vec<ChatMessage>),
    /// A plugin answered: do not call the model.
    Answered(String),
}

/// The chat's plugins (none without the feature).
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    #[cfg(feature = "plugins")]
    pub(crate) host: llf_plugins::PluginHost,
    /// The chat's tool executor, when tool calls go through the plugins.
    #[cfg(feature = "plugins")]
    pub(crate) tools: Option<std::sync::Arc<llf_plugins::PluginTools>>,
    /// The program's own plugins for this chat.
    #[cfg(feature = "plugins")]
    pub(crate) own: llf_plugins::PluginHost,
    /// Whether the installed plugins run too.
    #[cfg(feature = "plugins")]
    pub(crate) installed: bool,
}

#[cfg(feature = "plugins")]
impl Hooks {
    /// The installed plugins as they are now (they may have been reloaded since the last turn)
    /// with the chat's own.
    pub(crate) async fn refresh(&mut self, llf: &crate::Llf) -> Result<()> {
        if !self.installed {
            return Ok(());
        }
        self.host = llf.plugins().await?.merged(&self.own);
        if let Some(t) = &self.tools {
            t.set_host(self.host.clone());
        }
        Ok(())
    }

    pub(crate) async fn pre_request(&self, messages: Vec<ChatMessage>) -> Result<Prompt> {
        if self.host.is_empty() {
            return Ok(Prompt::Send(messages));
        }
        Ok(match self.host.pre_request(messages).await? {
            llf_plugins::Flow::Go(m) => Prompt::Send(m),
            llf_plugins::Flow::Skip { plugin, value } => {
                tracing::info!(%plugin, "a plugin answered in place of the model");
                Prompt::Answered(value)
            }
        })
    }

    pub(crate) async fn post_request(&self, answer: String) -> Result<String> {
        Ok(self.host.post_request(answer).await?)
    }

    pub(crate) fn rewrites_tokens(&self) -> bool {
        self.host.wants(llf_plugins::Hook::OnToken)
    }

    pub(crate) async fn on_token(&self, token: String) -> Result<String> {
        Ok(self.host.on_token(token).await?)
    }

    pub(crate) async fn on_message(&self, message: &ChatMessage) -> Result<()> {
        Ok(self.host.on_message(message).await?)
    }

    pub(crate) async fn on_error(&self, error: &crate::Error) {
        self.host.on_error(&error.to_string()).await;
    }

    /// The error a tool hook stopped the turn with.
    pub(crate) fn tool_stop(&self) -> Option<crate::Error> {
        self.tools
            .as_ref()
            .and_then(|t| t.take_stop())
            .map(Into::into)
    }
}

#[cfg(not(feature = "plugins"))]
impl Hooks {
    pub(crate) async fn refresh(&mut self, _: &crate::Llf) -> Result<()> {
        Ok(())
    }

    pub(crate) async fn pre_request(&self, messages: Vec<ChatMessage>) -> Result<Prompt> {
        Ok(Prompt::Send(messages))
    }

    pub(crate) async fn post_request(&self, answer: String) -> Result<String> {
        Ok(answer)
    }

    pub(crate) fn rewrites_tokens(&self) -> bool {
        false
    }

    pub(crate) async fn on_token(&self, token: String) -> Result<String> {
        Ok(token)
    }

    pub(crate) async fn on_message(&self, _: &ChatMessage) -> Result<()> {
        Ok(())
    }

    pub(crate) async fn on_error(&self, _: &crate::Error) {}

    pub(crate) fn tool_stop(&self) -> Option<crate::Error> {
        None
    }
}
