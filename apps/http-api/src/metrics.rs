//! Counters and histograms for `/metrics` (Prometheus text format): requests by route and
//! status, their latency (to the response head), time to first token and tokens out per model.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, label: &str, value: &str) {
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{label}=\"{value}\",le=\"{le}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{label}=\"{value}\"}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{label}=\"{value}\"}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    ttft: BTreeMap<String, Histogram>,
    tokens_out: BTreeMap<String, u64>,
}

/// The figures of one server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

/// Label values are escaped as the text format wants.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.with(|m| {
            *m.requests.entry((route.to_owned(), status)).or_default() += 1;
            m.latency
                .entry(route.to_owned())
                .or_default()
                .observe(elapsed);
        });
    }

    /// The first token of an answer from `model` came after `elapsed` (for an answer that was
    /// not streamed: the whole answer, with its `tokens`).
    pub(crate) fn first_token(&self, model: &str, elapsed: Duration, tokens: u64) {
        self.with(|m| {
            m.ttft.entry(model.to_owned()).or_default().observe(elapsed);
            *m.tokens_out.entry(model.to_owned()).or_default() += tokens;
        });
    }

    /// A streamed answer from `model` ended after `tokens` tokens.
    pub(crate) fn tokens_out(&self, model: &str, tokens: u64) {
        self.with(|m| *m.tokens_out.entry(model.to_owned()).or_default() += tokens);
    }

    /// Everything, in Prometheus' text format.
    pub(crate) fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str("# HELP llf_http_requests_total HTTP requests by route and status.\n");
            out.push_str("# TYPE llf_http_requests_total counter\n");
            for ((route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "llf_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
            out.push_str("# HELP llf_http_request_duration_seconds Time to the response head.\n");
            out.push_str("# TYPE llf_http_request_duration_seconds histogram\n");
            for (route, h) in &m.latency {
                h.render(
                    &mut out,
                    "llf_http_request_duration_seconds",
                    "route",
                    &escape(route),
                );
            }
            out.push_str(
                "# HELP llf_time_to_first_token_seconds Time from the request to the first token of its answer.\n",
            );
            out.push_str("# TYPE llf_time_to_first_token_seconds histogram\n");
            for (model, h) in &m.ttft {
                h.render(
                    &mut out,
                    "llf_time_to_first_token_seconds",
                    "model",
                    &escape(model),
                );
            }
            out.push_str("# HELP llf_tokens_out_total Tokens generated, by model.\n");
            out.push_str("# TYPE llf_tokens_out_total counter\n");
            for (model, n) in &m.tokens_out {
                let _ = writeln!(out, "llf_tokens_out_total{{model=\"{}\"}} {n}", escape(model));
            }
            out
        })
    }
}

/// The request id header: the client's when it is a short token, else a new ULID.
const REQUEST_ID: &str = "x-request-id";

/// Counts every request with its route (the pattern, not the path) and status, writes one
/// access-log event with a request id, and returns that id in `x-request-id`.
pub(crate) async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    let method = req.method().clone();
    let started = Instant::now();
    let mut response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.request(&route, status, elapsed);
    // Paths and bodies are not logged: they may carry user text.
    tracing::info!(
        target: "llf_http_api::access",
        request_id = %id,
        %method,
        route = %route,
        status,
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        "request"
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}
