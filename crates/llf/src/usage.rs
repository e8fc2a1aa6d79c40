//! Usage analytics wired to the configuration: the database [`Locations`] names, the price table
//! of `analytics.prices`, and recording from the chat turn.
//!
//! [`Locations`]: crate::Locations

use llf_analytics::{Analytics, Filter, Report, UsageEvent};

use crate::{Llf, Result};

impl Llf {
    /// The usage analytics database (created on first use).
    pub async fn analytics(&self) -> Result<&Analytics> {
        self.inner()
            .analytics
            .get_or_try_init(|| async {
                Ok::<_, crate::Error>(Analytics::open(self.locations().analytics_db()).await?)
            })
            .await
    }

    /// The usage report over the events `filter` selects (an empty report when nothing was
    /// recorded yet).
    pub async fn analytics_report(&self, filter: &Filter) -> Result<Report> {
        self.flush_usage().await;
        if self.inner().analytics.get().is_none() && !self.locations().analytics_db().exists() {
            return Ok(Report::build(&[], filter));
        }
        Ok(self.analytics().await?.report(filter).await?)
    }

    /// The recorded events `filter` selects, oldest first (none when nothing was recorded).
    pub async fn usage_events(&self, filter: &Filter) -> Result<Vec<UsageEvent>> {
        self.flush_usage().await;
        if self.inner().analytics.get().is_none() && !self.locations().analytics_db().exists() {
            return Ok(Vec::new());
        }
        Ok(self.analytics().await?.events(filter).await?)
    }

    /// Deletes the usage events older than `days` days; returns how many.
    pub async fn purge_usage(&self, days: u32) -> Result<u64> {
        self.flush_usage().await;
        if self.inner().analytics.get().is_none() && !self.locations().analytics_db().exists() {
            return Ok(0);
        }
        let before = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        Ok(self.analytics().await?.purge_before(before).await?)
    }

    /// What `prompt` and `completion` tokens of `model` cost (`analytics.prices`; 0 when the
    /// model has no price, as local models do).
    pub fn usage_cost(&self, model: &str, prompt: u64, completion: u64) -> f64 {
        self.config().analytics.prices.get(model).map_or(0.0, |p| {
            llf_analytics::cost(
                prompt,
                completion,
                p.prompt_per_million,
                p.completion_per_million,
            )
        })
    }

    /// Records a usage event when `analytics.enabled`, in the background: the write (a SQLite
    /// transaction, about half a millisecond) stays off the caller's path. [`Llf::flush_usage`]
    /// waits for the writes still running; reading the analytics does so first, and
    /// [`crate::chat::Chat::close`] does before a process ends. A failure is logged, never the
    /// caller's.
    pub fn record_usage(&self, event: UsageEvent) {
        if !self.config().analytics.enabled {
            return;
        }
        let llf = self.clone();
        let mut writes = self
            .inner()
            .usage_writes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Reap finished writes so the set holds only those still running.
        while writes.try_join_next().is_some() {}
        writes.spawn(async move {
            let result = match llf.analytics().await {
                Ok(db) => db.record(&event).await.map_err(crate::Error::from),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "cannot record a usage event");
            }
        });
    }

    /// Waits until every usage event recorded so far is written.
    pub async fn flush_usage(&self) {
        let mut pending = std::mem::take(
            &mut *self
                .inner()
                .usage_writes
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        while pending.join_next().await.is_some() {}
    }
}
