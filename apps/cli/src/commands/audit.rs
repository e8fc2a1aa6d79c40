//! `llf audit …`: read and verify the tool audit log.

use clap::Subcommand;
use llf::tools::audit::AuditEventType;

use crate::Context;
use crate::output;

/// `llf audit` options.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    pub(crate) cmd: Option<AuditCmd>,
    /// Show the last N events.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub(crate) lines: usize,
    /// Only events of this type.
    #[arg(long = "type", value_name = "TYPE",
          value_parser = clap::builder::PossibleValuesParser::new(AuditEventType::NAMES))]
    pub(crate) event_type: Option<String>,
    /// Print JSON lines as stored.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `llf audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCmd {
    /// Check the hash chain: reports the first edited, removed or reordered line.
    Verify,
}

pub(crate) async fn run(ctx: &Context, args: AuditArgs) -> anyhow::Result<()> {
    let log = ctx.llf()?.audit_log();
    if let Some(AuditCmd::Verify) = args.cmd {
        let report = log.verify()?;
        eprintln!(
            "audit log intact: {} events in {} file(s)",
            report.lines,
            report.files.len()
        );
        if !report.anchored {
            eprintln!(
                "note: this log was written before LLF kept an anchor, so a cut at its end cannot be seen; the next event adds one"
            );
        }
        return Ok(());
    }
    if !log.path().exists() {
        eprintln!("no audit events yet ({})", log.path().display());
        return Ok(());
    }
    let records = log.tail(args.lines, args.event_type.as_deref())?;
    for r in &records {
        if args.json {
            output::line(serde_json::to_string(r)?)?;
        } else {
            output::line(format!(
                "{}  {:<20}  {:<16}  {}",
                r.ts.format("%Y-%m-%d %H:%M:%S"),
                r.event_type,
                r.tool.as_deref().unwrap_or("-"),
                r.details
            ))?;
        }
    }
    Ok(())
}
