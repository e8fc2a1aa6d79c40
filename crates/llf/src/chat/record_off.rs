//! Without the `history` feature a chat is never saved: the recorder cannot exist.

use llf_core::chat::ChatMessage;
use llf_runtime::Completion;

use super::event::SavedMessage;
use crate::Result;

/// Never constructed without the `history` feature.
#[derive(Debug)]
pub(crate) enum Recorder {}

/// Never constructed without the `history` feature.
#[derive(Debug)]
pub(crate) enum AnswerRow {}

impl AnswerRow {
    pub(crate) fn due(&self, _len: usize) -> Option<std::time::Instant> {
        match *self {}
    }
}

#[allow(clippy::unused_async)] // the same signatures as with the feature
impl Recorder {
    pub(crate) fn conversation(&self) -> Option<&str> {
        match *self {}
    }
    pub(crate) fn set_conversation(&mut self, _id: Option<String>) {
        match *self {}
    }
    pub(crate) fn set_model(&mut self, _model: &str) {
        match *self {}
    }
    pub(crate) fn set_system_prompt(&mut self, _prompt: Option<String>) {
        match *self {}
    }
    pub(crate) async fn save_user(&mut self, _text: &str) -> Result<SavedMessage> {
        match *self {}
    }
    pub(crate) async fn append(&self, _message: ChatMessage) -> Result<SavedMessage> {
        match *self {}
    }
    pub(crate) async fn start_answer(&self, _text: &str) -> Result<(AnswerRow, SavedMessage)> {
        match *self {}
    }
    pub(crate) async fn update(&self, _row: &mut AnswerRow, _text: &str) -> Result<()> {
        match *self {}
    }
    pub(crate) async fn finish(
        &self,
        _row: AnswerRow,
        _completion: &Completion,
        _message: &ChatMessage,
    ) -> Result<SavedMessage> {
        match *self {}
    }
    pub(crate) async fn append_answer(
        &self,
        _completion: &Completion,
        _message: &ChatMessage,
    ) -> Result<SavedMessage> {
        match *self {}
    }
    pub(crate) async fn current_leaf(&self) -> Result<Option<i64>> {
        match *self {}
    }
    pub(crate) async fn checkout(&self, _id: i64) -> Result<()> {
        match *self {}
    }
    pub(crate) async fn last_user_message(&self) -> Result<Option<i64>> {
        match *self {}
    }
}
