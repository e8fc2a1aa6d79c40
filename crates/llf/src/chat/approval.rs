//! Approvals asked during a turn also become [`TurnEvent::ToolApproval`] events, so every frontend
//! can show what was decided (the decision itself stays with the frontend's policy).

use std::sync::{Arc, Mutex};

use llf_tools::approval::{ApprovalDecision, ApprovalPrompt, ApprovalRequest};
use tokio::sync::mpsc;

use super::event::TurnEvent;

/// Where the running turn's events go; empty between turns.
pub(crate) type EventSlot = Arc<Mutex<Option<mpsc::Sender<TurnEvent>>>>;

/// The frontend's approval policy, reporting each decision to the running turn.
pub(crate) struct ReportingApproval {
    pub(crate) policy: Arc<dyn ApprovalPrompt>,
    pub(crate) events: EventSlot,
}

#[async_trait::async_trait]
impl ApprovalPrompt for ReportingApproval {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalDecision {
        let decision = self.policy.ask(request).await;
        let tx = self
            .events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(tx) = tx {
            // The turn may be gone (cancelled); the decision still stands.
            let _ = tx
                .send(TurnEvent::ToolApproval {
                    tool: request.tool.clone(),
                    approved: decision != ApprovalDecision::Deny,
                })
                .await;
        }
        decision
    }
}
