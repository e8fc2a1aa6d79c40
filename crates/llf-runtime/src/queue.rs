//! Per-endpoint request queue: a concurrency limit, a bounded FIFO of waiting requests (a full
//! queue is refused at once), and a token-bucket rate limit (`governor`).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use llf_config::schema::RequestQueueSettings;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Result, RuntimeError};

/// Counters of a queue, for callers and `llf server status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueStats {
    /// Requests running now.
    pub active: usize,
    /// Requests waiting now.
    pub waiting: usize,
    /// Requests admitted since start.
    pub admitted: u64,
    /// Requests refused because the queue was full.
    pub rejected: u64,
    /// Total time admitted requests spent waiting, in milliseconds.
    pub total_wait_ms: u64,
    /// Concurrency limit.
    pub max_concurrent: usize,
    /// Queue bound.
    pub max_size: usize,
    /// Sustained rate.
    pub max_requests_per_second: f64,
}

/// The queue in front of one endpoint. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct RequestQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: String,
    settings: RequestQueueSettings,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    admitted: AtomicU64,
    rejected: AtomicU64,
    total_wait_ms: AtomicU64,
    limiter: DefaultDirectRateLimiter,
}

/// Held while a request runs; dropping it frees the slot.
#[derive(Debug)]
pub struct QueuePermit {
    _slot: OwnedSemaphorePermit,
    /// How long the request waited for its slot and rate-limit token.
    pub waited: Duration,
}

impl RequestQueue {
    /// A queue for `endpoint` (used in messages) with `settings`.
    pub fn new(endpoint: impl Into<String>, settings: &RequestQueueSettings) -> Self {
        let per_second = settings.max_requests_per_second.max(0.001);
        let burst = settings
            .burst_size
            .unwrap_or(settings.max_concurrent.max(1) as u32)
            .max(1);
        let period = Duration::from_secs_f64(1.0 / per_second);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            inner: Arc::new(Inner {
                endpoint: endpoint.into(),
                settings: settings.clone(),
                slots: Arc::new(Semaphore::new(settings.max_concurrent.max(1))),
                waiting: AtomicUsize::new(0),
                admitted: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                total_wait_ms: AtomicU64::new(0),
                limiter: RateLimiter::direct(quota),
            }),
        }
    }

    /// Waits for a slot (FIFO) and a rate-limit token. Fails at once when `max_size` requests are
    /// already waiting.
    pub async fn acquire(&self) -> Result<QueuePermit> {
        let inner = &self.inner;
        let start = Instant::now();
        // Reserve a place in the waiting line first, so the bound is exact under concurrency.
        let admitted_to_line = inner
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (w < inner.settings.max_size).then_some(w + 1)
            })
            .is_ok();
        if !admitted_to_line {
            inner.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(endpoint = %inner.endpoint, max_size = inner.settings.max_size, "request queue full");
            return Err(RuntimeError::QueueFull {
                endpoint: inner.endpoint.clone(),
                max_size: inner.settings.max_size,
            });
        }
        let slot = inner.slots.clone().acquire_owned().await;
        inner.limiter.until_ready().await;
        inner.waiting.fetch_sub(1, Ordering::SeqCst);
        let slot = slot.map_err(|_| RuntimeError::Invalid("request queue closed".into()))?;
        let waited = start.elapsed();
        inner.admitted.fetch_add(1, Ordering::Relaxed);
        inner
            .total_wait_ms
            .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
        Ok(QueuePermit {
            _slot: slot,
            waited,
        })
    }

    /// Current counters.
    pub fn stats(&self) -> QueueStats {
        let i = &self.inner;
        let max = i.settings.max_concurrent.max(1);
        QueueStats {
            active: max - i.slots.available_permits(),
            waiting: i.waiting.load(Ordering::SeqCst),
            admitted: i.admitted.load(Ordering::Relaxed),
            rejected: i.rejected.load(Ordering::Relaxed),
            total_wait_ms: i.total_wait_ms.load(Ordering::Relaxed),
            max_concurrent: max,
            max_size: i.settings.max_size,
            max_requests_per_second: i.settings.max_requests_per_second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_size: usize, rps: f64, concurrent: usize) -> RequestQueueSettings {
        RequestQueueSettings {
            max_size,
            max_requests_per_second: rps,
            max_concurrent: concurrent,
            burst_size: None,
        }
    }

    #[tokio::test]
    async fn full_queue_is_refused_immediately() {
        let q = RequestQueue::new("e", &settings(1, 1000.0, 1));
        let running = q.acquire().await.unwrap();
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.acquire().await.map(|p| p.waited) });
        // Let the waiter take the single waiting place.
        while q.stats().waiting == 0 {
            tokio::task::yield_now().await;
        }
        let t = Instant::now();
        let err = q.acquire().await.unwrap_err();
        assert!(
            matches!(err, RuntimeError::QueueFull { max_size: 1, .. }),
            "{err}"
        );
        assert!(t.elapsed() < Duration::from_millis(100));
        assert_eq!(q.stats().rejected, 1);
        drop(running);
        waiter.await.unwrap().unwrap();
        assert_eq!(q.stats().admitted, 2);
    }

    #[tokio::test]
    async fn concurrency_limit_holds() {
        let q = RequestQueue::new("e", &settings(100, 1000.0, 2));
        let a = q.acquire().await.unwrap();
        let _b = q.acquire().await.unwrap();
        assert_eq!(q.stats().active, 2);
        let q2 = q.clone();
        let third = tokio::spawn(async move { q2.acquire().await.is_ok() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "third request must wait for a slot");
        drop(a);
        assert!(third.await.unwrap());
    }

    #[tokio::test]
    async fn rate_limit_spaces_requests() {
        // 20 per second with a burst of 1: five requests take at least ~200 ms.
        let q = RequestQueue::new(
            "e",
            &RequestQueueSettings {
                burst_size: Some(1),
                ..settings(100, 20.0, 10)
            },
        );
        let t = Instant::now();
        for _ in 0..5 {
            drop(q.acquire().await.unwrap());
        }
        assert!(
            t.elapsed() >= Duration::from_millis(180),
            "{:?}",
            t.elapsed()
        );
    }
}
