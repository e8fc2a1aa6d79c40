//! `llf tool …`: list, inspect, import, enable, disable, remove, run and test tools.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use llf::core::tool::ToolInvocation;
use llf::tools::ToolSource;
use serde_json::{Value, json};

use crate::Context;
use crate::approval;
use crate::output;

/// `llf tool …`
#[derive(Debug, Subcommand)]
pub(crate) enum ToolCmd {
    /// List every tool: built-in (the repository's tools/) and yours (the tools dir).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a tool's definition, policy (approval, timeout, sandbox, rate limit) and validation rules.
    Info {
        /// Tool name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy a tool directory (config.json, tool_definition.json, program) into your tools dir.
    Import {
        /// The directory to import.
        dir: PathBuf,
    },
    /// Offer a tool to the model.
    Enable {
        /// Tool name.
        name: String,
    },
    /// Stop offering a tool to the model.
    Disable {
        /// Tool name.
        name: String,
    },
    /// Move one of your tools to the trash (`llf trash restore` brings it back).
    Remove {
        /// Tool name.
        name: String,
    },
    /// Run a tool once, through validation, approval, the sandbox and the audit log.
    ///
    /// Example: llf tool run calculator --args '{"expression": "2 * (3 + 4)"}'
    Run(RunArgs),
    /// Run the cases of a tool's tests.json.
    Test {
        /// Tool name.
        name: String,
    },
    /// Forget an "always" approval, so LLF asks again before running the tool.
    Revoke {
        /// Tool name.
        name: String,
    },
}

/// `llf tool run`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Tool name.
    pub(crate) name: String,
    /// Arguments as a JSON object.
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub(crate) args: String,
    /// Approve a tool that requires approval without asking (needed when not on a terminal).
    #[arg(short, long)]
    pub(crate) yes: bool,
}

fn source_name(s: ToolSource) -> &'static str {
    match s {
        ToolSource::User => "user",
        ToolSource::Builtin => "built-in",
        ToolSource::Native => "native",
    }
}

pub(crate) async fn run(ctx: &Context, cmd: ToolCmd) -> anyhow::Result<()> {
    match cmd {
        ToolCmd::List { json } => list(ctx, json).await,
        ToolCmd::Info { name, json } => info(ctx, &name, json).await,
        ToolCmd::Import { dir } => {
            let llf = ctx.llf()?;
            let mut set = llf.tool_set()?;
            let name = set.import(&dir)?;
            llf.audit_config_change(&name, "imported").await?;
            eprintln!("imported `{name}`; enable it with `llf tool enable {name}`");
            Ok(())
        }
        ToolCmd::Enable { name } => switch(ctx, &name, true).await,
        ToolCmd::Disable { name } => switch(ctx, &name, false).await,
        ToolCmd::Remove { name } => {
            let llf = ctx.llf()?;
            let mut set = llf.tool_set()?;
            let item = set.remove(&name, llf.file_trash().await?).await?;
            llf.audit_config_change(&name, "removed").await?;
            eprintln!(
                "moved `{name}` to the trash (restore with `llf trash restore {}`)",
                item.id
            );
            Ok(())
        }
        ToolCmd::Run(args) => run_once(ctx, args).await,
        ToolCmd::Test { name } => test(ctx, &name).await,
        ToolCmd::Revoke { name } => {
            let llf = ctx.llf()?;
            if llf.approval_store()?.revoke(&name)? {
                llf.audit_config_change(&name, "approval revoked").await?;
                eprintln!("LLF will ask again before running `{name}`");
            } else {
                eprintln!("`{name}` had no remembered approval");
            }
            Ok(())
        }
    }
}

async fn list(ctx: &Context, as_json: bool) -> anyhow::Result<()> {
    let set = ctx.llf()?.full_tool_set().await?;
    let rows: Vec<Value> = set
        .list()
        .map(|t| {
            let m = t.manifest();
            json!({
                "name": t.name,
                "source": source_name(t.source),
                "enabled": t.enabled,
                "requires_approval": m.is_some_and(|m| m.config.needs_approval()),
                "description": t.spec.description,
                "dir": m.map(|m| m.dir.display().to_string()),
            })
        })
        .collect();
    if as_json {
        return output::json(&Value::from(rows));
    }
    if rows.is_empty() {
        eprintln!("no tools; create one with `llf dev create-tool NAME`");
        return Ok(());
    }
    output::line(format!(
        "{:<20}  {:<8}  {:<7}  {:<8}  DESCRIPTION",
        "NAME", "SOURCE", "ENABLED", "APPROVAL"
    ))?;
    for r in &rows {
        output::line(format!(
            "{:<20}  {:<8}  {:<7}  {:<8}  {}",
            r["name"].as_str().unwrap_or_default(),
            r["source"].as_str().unwrap_or_default(),
            if r["enabled"] == true { "yes" } else { "no" },
            if r["requires_approval"] == true {
                "ask"
            } else {
                "-"
            },
            r["description"].as_str().unwrap_or_default(),
        ))?;
    }
    Ok(())
}

async fn info(ctx: &Context, name: &str, as_json: bool) -> anyhow::Result<()> {
    let registry = ctx.llf()?.tool_registry(approval::policy(false)).await?;
    let t = registry
        .tools()
        .get(name)
        .ok_or_else(|| llf::tools::ToolError::NotFound(name.to_owned()))?;
    let iso = registry.sandbox().isolation().await;
    let value = json!({
        "name": t.name,
        "source": source_name(t.source),
        "enabled": t.enabled,
        "definition": t.spec,
        "config": t.manifest().map(|m| serde_json::to_value(&m.config).unwrap_or(Value::Null)),
        "dir": t.manifest().map(|m| m.dir.display().to_string()),
        "sandbox": {
            "namespaces": iso.namespaces,
            "runs_as_nobody": iso.drops_root,
            "note": iso.note,
        },
    });
    if as_json {
        return output::json(&value);
    }
    output::line(format!(
        "{} ({}, {})",
        t.name,
        source_name(t.source),
        if t.enabled { "enabled" } else { "disabled" }
    ))?;
    output::line(format!("  {}", t.spec.description))?;
    if let Some(m) = t.manifest() {
        output::line(format!("  directory: {}", m.dir.display()))?;
        output::line(format!(
            "  approval: {}   timeout: {}   sandbox: {}   network: {}",
            if m.config.needs_approval() {
                "required"
            } else {
                "no"
            },
            m.config
                .timeout_secs()
                .map_or("default".into(), |s| format!("{s} s")),
            if m.config.allow_sandbox {
                "full"
            } else {
                "limits only"
            },
            if m.config.requires_network {
                "yes"
            } else {
                "no"
            },
        ))?;
        if let Some(rl) = &m.config.rate_limit {
            output::line(format!(
                "  rate limit: {} per minute, burst {}",
                rl.requests_per_minute,
                rl.burst_size.unwrap_or(rl.requests_per_minute)
            ))?;
        }
    }
    output::line("  parameters:")?;
    output::line(serde_json::to_string_pretty(&t.spec.parameters)?)?;
    if let Some(note) = iso.note {
        output::line(format!("  note: {note}"))?;
    }
    Ok(())
}

async fn switch(ctx: &Context, name: &str, on: bool) -> anyhow::Result<()> {
    let llf = ctx.llf()?;
    let mut set = llf.tool_set()?;
    set.set_enabled(name, on)?;
    llf.audit_config_change(name, if on { "enabled" } else { "disabled" })
        .await?;
    eprintln!("`{name}` {}", if on { "enabled" } else { "disabled" });
    Ok(())
}

async fn run_once(ctx: &Context, args: RunArgs) -> anyhow::Result<()> {
    let registry = ctx.llf()?.tool_registry(approval::policy(args.yes)).await?;
    let call = ToolInvocation {
        call_id: format!("cli-{}", ulid_like()),
        name: args.name,
        arguments: args.args,
    };
    let outcome = registry.run_named(&call).await;
    let body: Value = serde_json::from_str(&outcome.to_message_content())?;
    output::json(&body)?;
    if outcome.success {
        Ok(())
    } else {
        anyhow::bail!("the tool failed")
    }
}

fn ulid_like() -> String {
    chrono::Utc::now().format("%Y%m%d%H%M%S%3f").to_string()
}

async fn test(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let registry = ctx.llf()?.tool_registry(approval::policy(true)).await?;
    let results = llf::tools::scaffold::run_tool_tests(&registry, name).await?;
    let failed = results.iter().filter(|r| !r.passed).count();
    for r in &results {
        match &r.message {
            None => output::line(format!("ok    {}", r.name))?,
            Some(m) => output::line(format!("FAIL  {}: {m}", r.name))?,
        }
    }
    output::line(format!(
        "{} passed, {failed} failed",
        results.len() - failed
    ))?;
    if failed > 0 {
        anyhow::bail!("{failed} test case(s) of `{name}` failed");
    }
    Ok(())
}

/// The user's tools directory (where `llf dev create-tool` creates tools).
pub(crate) fn tools_dir(ctx: &Context) -> anyhow::Result<PathBuf> {
    Ok(ctx.llf()?.locations().tools())
}
