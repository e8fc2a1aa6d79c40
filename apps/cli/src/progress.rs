//! Spinners and progress bars on stderr; silent when stderr is not a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use llf::runtime::server::StartPhase;

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

/// Follows a server start that may or may not happen (the server may be running already): the
/// spinner appears with the first start-up phase, on a terminal only.
#[derive(Default)]
pub(crate) struct ServerStart {
    spinner: std::sync::Mutex<Option<StartSpinner>>,
    started: std::sync::Mutex<Option<String>>,
}

impl ServerStart {
    /// The progress callback for `Chat::connect` and `Chat::switch`.
    pub(crate) fn phase(&self, server: &str, phase: StartPhase) {
        if matches!(phase, StartPhase::Spawned { .. }) {
            *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.to_owned());
        }
        if std::io::stderr().is_terminal() {
            self.spinner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| StartSpinner::new(server))
                .phase(phase);
        }
    }

    /// Clears the spinner; returns the server that was started, if one was.
    pub(crate) fn finish(self) -> Option<String> {
        if let Some(s) = self.spinner.into_inner().unwrap_or_else(|p| p.into_inner()) {
            s.finish();
        }
        self.started.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}
