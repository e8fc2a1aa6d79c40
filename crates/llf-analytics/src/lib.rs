//! Usage analytics for LLF: one [`UsageEvent`] per model request (time, conversation, model,
//! endpoint, tokens, time to first token, total time, tokens/s, tool calls, errors, cost) in an
//! SQLite database ([`Analytics`]), and a [`Report`] over them: totals, per model, per day and
//! per tool, p50/p95/p99 of latency and speed, and insights in plain words.

mod error;
mod event;
mod report;
mod store;

pub use error::{AnalyticsError, Result};
pub use event::{CSV_HEADER, ToolUse, UsageEvent, cost};
pub use report::{
    DayReport, Latency, ModelReport, Percentiles, Report, ToolReport, Totals, percentile,
};
pub use store::{Analytics, Filter};

impl Analytics {
    /// The report over the events `filter` selects.
    pub async fn report(&self, filter: &Filter) -> Result<Report> {
        Ok(Report::build(&self.events(filter).await?, filter))
    }
}
