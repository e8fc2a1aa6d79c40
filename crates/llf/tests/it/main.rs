//! The chat engine through the `llf` facade: scripted tool calls, errors and cancellations against
//! a fake OpenAI-compatible server, with the history checked after each step; plain turns,
//! resume, retry and branches against the real llama-server and SmolLM2; the one trash.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod analytics;
mod fake_chat;
mod plugins;
mod real_chat;
mod trash;

use futures::StreamExt;
use llf::Llf;
use llf::chat::TurnEvent;
use llf::config::{ConfigFile, Environment};
use llf::history::StoredMessage;
use llf_testkit::components::TestHome;

/// An LLF home in a temp dir with this config.
pub(crate) struct Home {
    pub(crate) dir: TestHome,
    pub(crate) llf: Llf,
}

impl Home {
    pub(crate) fn new(config: serde_json::Value) -> Self {
        let dir = TestHome::new();
        let file = ConfigFile::from_value(
            dir.path().join("config.json"),
            config,
            true,
            &Environment::with_home(dir.path()),
        )
        .unwrap();
        Self {
            llf: Llf::new(file),
            dir,
        }
    }

    /// The saved conversation's active branch, as (role, content) pairs.
    pub(crate) async fn path(&self, conversation: &str) -> Vec<(String, String)> {
        self.stored_path(conversation)
            .await
            .into_iter()
            .map(|m| (m.role().to_string(), m.message.content))
            .collect()
    }

    pub(crate) async fn stored_path(&self, conversation: &str) -> Vec<StoredMessage> {
        let history = self.llf.history().await.unwrap();
        history.current_path(conversation).await.unwrap()
    }
}

/// Every event of a turn.
pub(crate) async fn events(mut turn: llf::chat::TurnStream) -> Vec<TurnEvent> {
    let mut all = Vec::new();
    while let Some(e) = turn.next().await {
        all.push(e);
    }
    all
}

/// The text of the tokens among `events`.
pub(crate) fn tokens(events: &[TurnEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Token(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, c)| ((*r).to_owned(), (*c).to_owned()))
        .collect()
}
