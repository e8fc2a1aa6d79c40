//! `/save` and `/load`: a conversation as a small JSON file.

use std::path::Path;

use llf::core::chat::ChatMessage;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Transcript {
    version: u32,
    system_prompt: Option<String>,
    messages: Vec<ChatMessage>,
}

pub(crate) fn save(
    path: &Path,
    system_prompt: Option<&str>,
    messages: &[ChatMessage],
) -> anyhow::Result<()> {
    let t = Transcript {
        version: 1,
        system_prompt: system_prompt.map(str::to_owned),
        messages: messages.to_vec(),
    };
    let bytes = serde_json::to_vec_pretty(&t)?;
    llf::core::fs::atomic_write(path, &bytes, llf::core::fs::PRIVATE)?;
    Ok(())
}

pub(crate) fn load(path: &Path) -> anyhow::Result<(Option<String>, Vec<ChatMessage>)> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let t: Transcript = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a conversation saved with /save: {e}",
            path.display()
        )
    })?;
    Ok((t.system_prompt, t.messages))
}
