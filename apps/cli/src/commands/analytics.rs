//! `llf analytics …`: usage reports.

use clap::Subcommand;
use llf::analytics::{Filter, Percentiles, Report};

use crate::Context;
use crate::output;

/// `llf analytics` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AnalyticsCmd {
    /// Totals, per model and per day; p50/p95/p99 of time to first token, total time and
    /// tokens/s; tool failure rates; cost; and what stands out.
    Report {
        /// Only the last N days.
        #[arg(long, value_name = "N")]
        days: Option<u32>,
        /// Only this model.
        #[arg(long, value_name = "MODEL")]
        model: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the recorded events (one per model request) as CSV or JSON.
    Export {
        /// csv or json.
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        /// Only the last N days.
        #[arg(long, value_name = "N")]
        days: Option<u32>,
        /// Only this model.
        #[arg(long, value_name = "MODEL")]
        model: Option<String>,
    },
    /// Delete the events older than N days.
    Purge {
        /// Keep this many days.
        #[arg(long, value_name = "N")]
        older_than_days: u32,
    },
}

fn filter(days: Option<u32>, model: Option<String>) -> Filter {
    Filter {
        since: days.map(|d| chrono::Utc::now() - chrono::Duration::days(i64::from(d))),
        model,
    }
}

pub(crate) async fn run(ctx: &Context, cmd: AnalyticsCmd) -> anyhow::Result<()> {
    let llf = ctx.llf()?;
    match cmd {
        AnalyticsCmd::Report { days, model, json } => {
            let report = llf.analytics_report(&filter(days, model)).await?;
            if json {
                return output::json(&serde_json::to_value(&report)?);
            }
            render(&report)
        }
        AnalyticsCmd::Export {
            format,
            days,
            model,
        } => {
            let events = llf.usage_events(&filter(days, model)).await?;
            if format == "json" {
                return output::json(&serde_json::to_value(&events)?);
            }
            output::line(llf::analytics::CSV_HEADER)?;
            for e in &events {
                output::line(e.csv_row())?;
            }
            Ok(())
        }
        AnalyticsCmd::Purge { older_than_days } => {
            let n = llf.purge_usage(older_than_days).await?;
            output::line(format!(
                "Deleted {n} usage events older than {older_than_days} days"
            ))?;
            Ok(())
        }
    }
}

fn p(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn triple(ps: &Percentiles, digits: usize) -> String {
    format!(
        "{} / {} / {}",
        p(ps.p50, digits),
        p(ps.p95, digits),
        p(ps.p99, digits)
    )
}

/// A bar of `value` against `max`, 20 cells wide.
fn bar(value: u64, max: u64) -> String {
    let cells = if max == 0 {
        0
    } else {
        ((value as f64 / max as f64) * 20.0).round() as usize
    };
    "█".repeat(cells)
}

fn render(r: &Report) -> anyhow::Result<()> {
    let t = &r.totals;
    if t.requests == 0 {
        output::line("No usage recorded yet.")?;
        return Ok(());
    }
    output::line(format!(
        "{} requests, {} failed ({:.1} %); {} prompt + {} completion tokens; {} tool calls, {} failed; cost {:.4}",
        t.requests,
        t.errors,
        t.error_rate() * 100.0,
        t.prompt_tokens,
        t.completion_tokens,
        t.tool_calls,
        t.tool_failures,
        t.cost
    ))?;
    output::line(format!(
        "p50 / p95 / p99: first token {} ms, total {} ms, {} tokens/s",
        triple(&r.latency.ttft_ms, 0),
        triple(&r.latency.total_ms, 0),
        triple(&r.latency.tokens_per_second, 1)
    ))?;
    output::line("")?;
    output::line("Per model (p50 / p95 / p99):")?;
    for m in &r.models {
        output::line(format!(
            "  {}: {} requests ({} failed), first token {} ms, total {} ms, {} tokens/s, cost {:.4}",
            m.model,
            m.totals.requests,
            m.totals.errors,
            triple(&m.latency.ttft_ms, 0),
            triple(&m.latency.total_ms, 0),
            triple(&m.latency.tokens_per_second, 1),
            m.totals.cost
        ))?;
    }
    output::line("")?;
    output::line("Per day:")?;
    let max = r.days.iter().map(|d| d.totals.requests).max().unwrap_or(0);
    for d in &r.days {
        output::line(format!(
            "  {} {:>5} {:<20} median {} ms",
            d.day,
            d.totals.requests,
            bar(d.totals.requests, max),
            p(d.total_ms_p50, 0)
        ))?;
    }
    if !r.tools.is_empty() {
        output::line("")?;
        output::line("Tools:")?;
        for tool in &r.tools {
            output::line(format!(
                "  {}: {} calls, {} failed ({:.0} %), median {} ms",
                tool.name,
                tool.calls,
                tool.failures,
                tool.failure_rate * 100.0,
                p(tool.duration_ms.p50, 0)
            ))?;
        }
    }
    if !r.insights.is_empty() {
        output::line("")?;
        for i in &r.insights {
            output::line(format!("• {i}"))?;
        }
    }
    Ok(())
}
