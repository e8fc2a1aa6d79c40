//! Several models: routing a message to the local server that suits it, and asking several at
//! once to compare their answers.

use llf_config::schema::RoutingStrategy;
use llf_core::chat::ChatMessage;
use llf_runtime::Target;
use llf_runtime::multi::{self, CompareEntry, Ensemble};

use crate::Llf;

impl Llf {
    /// The local server `multi_model.routing_strategy` picks for `text`; `None` with manual
    /// routing or when no configured server has a profile in `multi_model.model_profiles`.
    pub fn route(&self, text: &str) -> Option<String> {
        let mm = &self.config().multi_model;
        if mm.routing_strategy == RoutingStrategy::Manual {
            return None;
        }
        let names: Vec<String> = self
            .config()
            .local_llm_servers
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let choice = multi::route(mm.routing_strategy, &mm.model_profiles, &names, text);
        if let Some(server) = &choice {
            tracing::info!(strategy = ?mm.routing_strategy, %server, "routed the message");
        }
        choice
    }

    /// Sends `prompt` (after the configured system prompt) to every target at once, starting
    /// local servers as needed; the answers come back in the order of `targets`, each with its
    /// timings or its error.
    pub async fn compare(
        &self,
        targets: &[Target],
        prompt: &str,
    ) -> crate::Result<Vec<CompareEntry>> {
        for t in targets {
            if let Target::Server(n) = t {
                self.runtime().require_server(n)?;
            }
        }
        let mut messages = Vec::new();
        if let Some(system) = &self.config().prompt.system_prompt {
            messages.push(ChatMessage::system(system.clone()));
        }
        messages.push(ChatMessage::user(prompt));
        Ok(multi::compare(self.runtime(), targets, &messages).await)
    }

    /// Combines compared answers: all of them, or the best-rated one
    /// (`multi_model.model_profiles[].quality_score`).
    pub fn ensemble(&self, entries: &[CompareEntry], mode: Ensemble) -> Option<String> {
        multi::ensemble(entries, mode, &self.config().multi_model.model_profiles)
    }
}
