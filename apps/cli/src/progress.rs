//! Spinners and progress bars on stderr; silent when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use llf_runtime::server::StartPhase;

/// A spinner that follows a server's start-up phases.
pub(crate) struct StartSpinner {
    bar: ProgressBar,
}

impl StartSpinner {
    pub(crate) fn new(server: &str) -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("starting llama-server `{server}`"));
        bar.enable_steady_tick(Duration::from_millis(100));
        Self { bar }
    }

    /// The callback for `ServerManager::start`.
    pub(crate) fn phase(&self, phase: StartPhase) {
        let msg = match phase {
            StartPhase::Spawned { pid } => {
                format!("llama-server started (pid {pid}), waiting for it")
            }
            StartPhase::Loading => "loading the model".to_owned(),
            StartPhase::WarmingUp => "warming up".to_owned(),
            StartPhase::Ready => "ready".to_owned(),
        };
        self.bar.set_message(msg);
    }

    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}
