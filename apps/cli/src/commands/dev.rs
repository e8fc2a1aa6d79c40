//! `llf dev …`: tools for people extending LLF.

use std::io::IsTerminal;

use clap::Subcommand;
use llf::tools::scaffold::{ParamSpec, ToolLang, ToolTemplate, create_tool};

use crate::Context;

/// Language of a generated tool.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Lang {
    /// execute.py with execute(params) -> dict.
    Python,
    /// An executable shell script.
    Bash,
    /// A std-only Cargo project, built with `cargo build --release --offline`.
    Rust,
}

/// `llf dev …`
#[derive(Debug, Subcommand)]
pub(crate) enum DevCmd {
    /// Write a new working tool (config, definition, program, README, tests.json) into your tools dir.
    ///
    /// Example: llf dev create-tool weather --no-interactive --description "Weather for a city"
    ///          --param city:string:City name --param days:integer?
    CreateTool {
        /// Tool name (letters, digits, _ and -).
        name: String,
        /// Language of the program.
        #[arg(long, value_enum, default_value = "python")]
        lang: Lang,
        /// Take everything from flags; do not ask.
        #[arg(long)]
        no_interactive: bool,
        /// What the tool does (shown to the model).
        #[arg(long)]
        description: Option<String>,
        /// Category, e.g. utility, web, math.
        #[arg(long)]
        category: Option<String>,
        /// A parameter as `name:type[:description]`; type is string, integer, number or boolean,
        /// with ? for optional (e.g. units:string?). Repeat for more.
        #[arg(long = "param", value_name = "SPEC")]
        params: Vec<String>,
    },
}

pub(crate) async fn run(ctx: &Context, cmd: DevCmd) -> anyhow::Result<()> {
    match cmd {
        DevCmd::CreateTool {
            name,
            lang,
            no_interactive,
            description,
            category,
            params,
        } => {
            let interactive = !no_interactive && std::io::stdin().is_terminal();
            let mut params: Vec<ParamSpec> = params
                .iter()
                .map(|p| ParamSpec::parse(p))
                .collect::<Result<_, _>>()?;
            let (description, category) = if interactive {
                let d = ask(
                    "Description",
                    description.unwrap_or_else(|| format!("Tool {name}")),
                )?;
                let c = ask("Category", category.unwrap_or_else(|| "utility".into()))?;
                if params.is_empty() {
                    loop {
                        let spec: String = dialoguer::Input::new()
                            .with_prompt("Parameter as name:type[:description] (empty to finish)")
                            .allow_empty(true)
                            .interact_text()?;
                        if spec.trim().is_empty() {
                            break;
                        }
                        match ParamSpec::parse(&spec) {
                            Ok(p) => params.push(p),
                            Err(e) => eprintln!("{e}"),
                        }
                    }
                }
                (d, c)
            } else {
                (
                    description.unwrap_or_else(|| format!("Tool {name}")),
                    category.unwrap_or_else(|| "utility".into()),
                )
            };
            if params.is_empty() {
                params.push(ParamSpec::parse("input:string:Input text")?);
            }
            let template = ToolTemplate {
                name: name.clone(),
                lang: match lang {
                    Lang::Python => ToolLang::Python,
                    Lang::Bash => ToolLang::Bash,
                    Lang::Rust => ToolLang::Rust,
                },
                description,
                category,
                params,
            };
            let dir = create_tool(&crate::commands::tool::tools_dir(ctx)?, &template)?;
            if template.lang == ToolLang::Rust {
                eprintln!("building {name} with cargo…");
                llf::tools::scaffold::build_rust_tool(&dir).await?;
            }
            eprintln!("created {}", dir.display());
            eprintln!("next: llf tool test {name} && llf tool enable {name}");
            Ok(())
        }
    }
}

fn ask(prompt: &str, default: String) -> anyhow::Result<String> {
    Ok(dialoguer::Input::new()
        .with_prompt(prompt)
        .default(default)
        .interact_text()?)
}
