//! [`Report`]: totals, per model, per day and per tool; percentiles of latency and speed; and
//! insights in plain words.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::event::UsageEvent;
use crate::store::Filter;

/// The 50th, 95th and 99th percentiles of a figure (nearest rank); `None` without values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    /// The percentiles of `values` (in any order; NaNs are ignored).
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        Self {
            p50: percentile(&v, 50.0),
            p95: percentile(&v, 95.0),
            p99: percentile(&v, 99.0),
        }
    }
}

/// The nearest-rank percentile `p` (0–100] of sorted values: the smallest value with at least
/// p % of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Latency and speed of successful requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Time to first token, in milliseconds.
    pub ttft_ms: Percentiles,
    /// Total time, in milliseconds.
    pub total_ms: Percentiles,
    /// Tokens per second.
    pub tokens_per_second: Percentiles,
}

impl Latency {
    fn of<'a>(events: impl Iterator<Item = &'a UsageEvent> + Clone) -> Self {
        let ok = events.filter(|e| e.error.is_none());
        let ttft: Vec<f64> = ok
            .clone()
            .filter_map(|e| e.time_to_first_token.map(|d| d.as_secs_f64() * 1000.0))
            .collect();
        let total: Vec<f64> = ok.clone().map(|e| e.total.as_secs_f64() * 1000.0).collect();
        let tps: Vec<f64> = ok.map(|e| e.tokens_per_second).collect();
        Self {
            ttft_ms: Percentiles::of(&ttft),
            total_ms: Percentiles::of(&total),
            tokens_per_second: Percentiles::of(&tps),
        }
    }
}

/// Counts and sums over a set of events.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Requests.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Tool calls that failed.
    pub tool_failures: u64,
    /// Cost.
    pub cost: f64,
}

impl Totals {
    fn add(&mut self, e: &UsageEvent) {
        self.requests += 1;
        self.errors += u64::from(e.error.is_some());
        self.prompt_tokens += e.prompt_tokens;
        self.completion_tokens += e.completion_tokens;
        self.tool_calls += e.tools.len() as u64;
        self.tool_failures += e.tools.iter().filter(|t| !t.success).count() as u64;
        self.cost += e.cost;
    }

    /// The share of requests that failed (0–1).
    pub fn error_rate(&self) -> f64 {
        ratio(self.errors, self.requests)
    }
}

/// One model's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelReport {
    /// The model.
    pub model: String,
    /// Its totals.
    pub totals: Totals,
    /// Its latency and speed.
    pub latency: Latency,
}

/// One day's figures (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayReport {
    /// The day.
    pub day: NaiveDate,
    /// Its totals.
    pub totals: Totals,
    /// Median total time of its successful requests, in milliseconds.
    pub total_ms_p50: Option<f64>,
}

/// One tool's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolReport {
    /// The tool.
    pub name: String,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub failures: u64,
    /// The share of calls that failed (0–1).
    pub failure_rate: f64,
    /// Durations, in milliseconds.
    pub duration_ms: Percentiles,
}

/// A usage report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The events covered from this time on (all when `None`).
    pub since: Option<DateTime<Utc>>,
    /// Only this model (all when `None`).
    pub model: Option<String>,
    /// All events' totals.
    pub totals: Totals,
    /// All successful requests' latency and speed.
    pub latency: Latency,
    /// Per model, most requests first.
    pub models: Vec<ModelReport>,
    /// Per day, oldest first.
    pub days: Vec<DayReport>,
    /// Per tool, most calls first.
    pub tools: Vec<ToolReport>,
    /// Observations in plain words.
    pub insights: Vec<String>,
}

impl Report {
    /// The report over `events` (already selected by `filter`).
    pub fn build(events: &[UsageEvent], filter: &Filter) -> Self {
        let mut totals = Totals::default();
        let mut by_model: BTreeMap<&str, Vec<&UsageEvent>> = BTreeMap::new();
        let mut by_day: BTreeMap<NaiveDate, Vec<&UsageEvent>> = BTreeMap::new();
        let mut by_tool: BTreeMap<&str, Vec<(bool, f64)>> = BTreeMap::new();
        for e in events {
            totals.add(e);
            by_model.entry(&e.model).or_default().push(e);
            by_day.entry(e.at.date_naive()).or_default().push(e);
            for t in &e.tools {
                by_tool
                    .entry(&t.name)
                    .or_default()
                    .push((t.success, t.duration.as_secs_f64() * 1000.0));
            }
        }
        let mut models: Vec<ModelReport> = by_model
            .into_iter()
            .map(|(model, list)| {
                let mut t = Totals::default();
                list.iter().for_each(|e| t.add(e));
                ModelReport {
                    model: model.to_owned(),
                    totals: t,
                    latency: Latency::of(list.iter().copied()),
                }
            })
            .collect();
        models.sort_by_key(|m| std::cmp::Reverse(m.totals.requests));
        let days = by_day
            .into_iter()
            .map(|(day, list)| {
                let mut t = Totals::default();
                list.iter().for_each(|e| t.add(e));
                DayReport {
                    day,
                    totals: t,
                    total_ms_p50: Latency::of(list.iter().copied()).total_ms.p50,
                }
            })
            .collect();
        let mut tools: Vec<ToolReport> = by_tool
            .into_iter()
            .map(|(name, calls)| {
                let failures = calls.iter().filter(|(ok, _)| !ok).count() as u64;
                let durations: Vec<f64> = calls.iter().map(|(_, d)| *d).collect();
                ToolReport {
                    name: name.to_owned(),
                    calls: calls.len() as u64,
                    failures,
                    failure_rate: ratio(failures, calls.len() as u64),
                    duration_ms: Percentiles::of(&durations),
                }
            })
            .collect();
        tools.sort_by_key(|t| std::cmp::Reverse(t.calls));
        let mut report = Report {
            since: filter.since,
            model: filter.model.clone(),
            latency: Latency::of(events.iter()),
            totals,
            models,
            days,
            tools,
            insights: Vec::new(),
        };
        report.insights = insights(&report);
        report
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Observations worth a sentence: the slowest model against the fastest, tools that fail
/// often, a high error rate, and whether the last day was slower than the days before.
fn insights(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let p95: Vec<(&str, f64)> = r
        .models
        .iter()
        .filter_map(|m| m.latency.total_ms.p95.map(|v| (m.model.as_str(), v)))
        .collect();
    if let (Some(slow), Some(fast)) = (
        p95.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        p95.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
    ) && slow.0 != fast.0
        && fast.1 > 0.0
    {
        out.push(format!(
            "{}'s p95 total time is {:.1}× {}'s ({:.0} ms against {:.0} ms)",
            slow.0,
            slow.1 / fast.1,
            fast.0,
            slow.1,
            fast.1
        ));
    }
    for t in &r.tools {
        if t.calls >= 3 && t.failure_rate >= 0.1 {
            out.push(format!(
                "tool {} failed {:.0} % of its calls ({} of {})",
                t.name,
                t.failure_rate * 100.0,
                t.failures,
                t.calls
            ));
        }
    }
    if r.totals.requests >= 5 && r.totals.error_rate() >= 0.05 {
        out.push(format!(
            "{:.0} % of requests failed ({} of {})",
            r.totals.error_rate() * 100.0,
            r.totals.errors,
            r.totals.requests
        ));
    }
    if let Some((last, before)) = r.days.split_last()
        && let Some(now) = last.total_ms_p50
    {
        let earlier: Vec<f64> = before.iter().filter_map(|d| d.total_ms_p50).collect();
        if !earlier.is_empty() {
            let then = earlier.iter().sum::<f64>() / earlier.len() as f64;
            let change = (now - then) / then;
            if then > 0.0 && change.abs() >= 0.2 {
                out.push(format!(
                    "answers got {:.0} % {} on {} (median {:.0} ms against {:.0} ms before)",
                    change.abs() * 100.0,
                    if change > 0.0 { "slower" } else { "faster" },
                    last.day,
                    now,
                    then
                ));
            }
        }
    }
    out
}
