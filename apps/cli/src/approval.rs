//! How the terminal decides on tool calls that need approval.

use std::io::IsTerminal;
use std::sync::Arc;

use llf::tools::approval::{ApprovalDecision, ApprovalPrompt, ApprovalRequest, FixedApproval};

/// Asks on the terminal: once, for this session, always, or no.
struct TerminalPrompt;

#[async_trait::async_trait]
impl ApprovalPrompt for TerminalPrompt {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalDecision {
        let question = format!(
            "Run tool `{}` ({}) with {}?",
            request.tool, request.description, request.arguments
        );
        let answer = tokio::task::spawn_blocking(move || {
            dialoguer::Select::new()
                .with_prompt(question)
                .items(["yes, once", "yes, for this session", "yes, always", "no"])
                .default(0)
                .interact()
        })
        .await;
        match answer {
            Ok(Ok(0)) => ApprovalDecision::Once,
            Ok(Ok(1)) => ApprovalDecision::Session,
            Ok(Ok(2)) => ApprovalDecision::Always,
            _ => ApprovalDecision::Deny,
        }
    }
}

/// The approval policy for this run: the terminal when there is one, else deny (or `--yes`).
pub(crate) fn policy(yes: bool) -> Arc<dyn ApprovalPrompt> {
    if yes {
        Arc::new(FixedApproval(ApprovalDecision::Once))
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Arc::new(TerminalPrompt)
    } else {
        Arc::new(FixedApproval(ApprovalDecision::Deny))
    }
}
