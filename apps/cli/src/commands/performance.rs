//! `llf performance …`: the per-request figures LLF records.

use std::path::PathBuf;

use clap::Subcommand;
use llf::runtime::ProfileStats;

use crate::Context;
use crate::commands::server::runtime;
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum PerformanceCmd {
    /// Summarise recorded requests: time to first token, tokens/s, token counts.
    Stats {
        /// Only the last N requests.
        #[arg(long, value_name = "N")]
        last_n: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the records to FILE: JSON when it ends in .json, CSV otherwise.
    Export {
        /// Output file.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Only the last N requests.
        #[arg(long, value_name = "N")]
        last_n: Option<usize>,
    },
}

pub(crate) async fn run(ctx: &Context, cmd: PerformanceCmd) -> anyhow::Result<()> {
    let rt = runtime(ctx)?;
    let log = rt.profile_log();
    match cmd {
        PerformanceCmd::Stats { last_n, json } => {
            let records = log.read(last_n)?;
            let stats = ProfileStats::from_records(&records);
            if json {
                return output::json(&serde_json::to_value(&stats)?);
            }
            if stats.requests == 0 {
                eprintln!("no requests recorded yet ({})", log.path().display());
                return Ok(());
            }
            let mut per_model: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
            for r in &records {
                per_model
                    .entry(r.model.as_str())
                    .or_default()
                    .push(r.clone());
            }
            output::line(format!(
                "{:<36} {:>8} {:>10} {:>10} {:>10} {:>9}",
                "MODEL", "REQUESTS", "TTFT p50", "TTFT p95", "TOTAL avg", "TOK/S"
            ))?;
            for (model, rs) in &per_model {
                let s = ProfileStats::from_records(rs);
                output::line(format!(
                    "{:<36} {:>8} {:>8.0}ms {:>8.0}ms {:>8.0}ms {:>9.1}",
                    model,
                    s.requests,
                    s.p50_ttft_ms,
                    s.p95_ttft_ms,
                    s.mean_total_ms,
                    s.mean_tokens_per_second
                ))?;
            }
            output::line(format!(
                "{} requests ({} failed), {} prompt + {} generated tokens",
                stats.requests, stats.failures, stats.prompt_tokens, stats.completion_tokens
            ))?;
        }
        PerformanceCmd::Export {
            output: path,
            last_n,
        } => {
            let n = log.export(&path, last_n)?;
            eprintln!("wrote {n} records to {}", path.display());
        }
    }
    Ok(())
}
