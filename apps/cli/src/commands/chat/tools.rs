//! Chatting with tools: the model's calls go through llf-tools (validation, approval, sandbox,
//! rate limits, audit) in llf-runtime's tool loop; native tool calls when the model's template
//! supports them, JSON-schema constrained output otherwise.

use std::sync::Arc;

use llf_runtime::{ToolLoop, ToolLoopEvent, ToolMode};
use llf_tools::ToolRegistry;

use super::repl::Chat;
use crate::Context;

/// The tool registry wired to the config (MCP servers start here, once per chat).
pub(super) async fn open(ctx: &Context, yes: bool) -> anyhow::Result<Arc<ToolRegistry>> {
    let registry =
        crate::commands::tool::open_registry(ctx, crate::commands::tool::approval_prompt(yes))
            .await?;
    Ok(Arc::new(registry))
}

impl Chat {
    /// Sends `input` through the tool loop, showing each tool call, and keeps every message of
    /// the exchange (calls, results, answer) in the session and the history.
    pub(crate) async fn ask_with_tools(&mut self, input: &str) -> anyhow::Result<()> {
        let tools = self
            .tools
            .clone()
            .ok_or_else(|| anyhow::anyhow!("tools are off"))?;
        let built = self.session.prepare(input).await?;
        super::render::debug_prompt(&built);
        let mode = if self.conn.supports_tools {
            ToolMode::Native
        } else {
            ToolMode::Constrained
        };
        let lp = ToolLoop::new(
            self.session.client().clone(),
            tools,
            self.session.params().clone(),
            mode,
        )
        .max_rounds(self.tool_rounds);
        if let Some(r) = self.recorder.as_mut() {
            r.user(input).await?;
        }
        let mut printed = false;
        let result = lp
            .run(built.messages, |ev| match ev {
                ToolLoopEvent::Token(t) => {
                    use std::io::Write;
                    printed = true;
                    let mut out = std::io::stdout();
                    let _ = out.write_all(t.as_bytes());
                    let _ = out.flush();
                }
                ToolLoopEvent::ToolStarted(c) => eprintln!("→ {} {}", c.name, c.arguments),
                ToolLoopEvent::ToolFinished(o) => {
                    let status = if o.success { "ok" } else { "failed" };
                    eprintln!(
                        "← {} {status} ({} ms): {}",
                        o.name,
                        o.duration.as_millis(),
                        truncate(&o.content.to_string(), 200)
                    );
                }
                _ => {}
            })
            .await?;
        if printed && !result.answer.ends_with('\n') {
            crate::output::line("")?;
        }
        let mut history = self.session.history().to_vec();
        history.push(llf_core::chat::ChatMessage::user(input));
        for m in &result.new_messages {
            if let Some(r) = &self.recorder {
                r.append(m.clone()).await?;
            }
            history.push(m.clone());
        }
        self.session.set_history(history);
        super::render::status_line(&result.last);
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
