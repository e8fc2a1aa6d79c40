//! `llf template …`: reusable prompts with {variables}.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use llf::templates::{NewTemplate, PromptTemplate, TemplateEdit, TemplateFilter};

use crate::Context;
use crate::output;

/// `llf template` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCmd {
    /// List templates (the seven built-ins and yours).
    List {
        /// Only this category (e.g. development, writing, language).
        #[arg(long)]
        category: Option<String>,
        /// Only templates with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a template: its text, variables and metadata.
    Show {
        /// Template id or name.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fill in a template's variables and print the prompt; with --execute, send it to the model.
    ///
    /// Example: llf template use translate_text --var source_lang=English --var target_lang=German
    /// --var-file text=notes.txt --execute
    Use(UseArgs),
    /// Save a new template; {name} placeholders become its variables.
    Create {
        /// Display name; the id derives from it ("Bug Report" → bug_report).
        name: String,
        #[command(flatten)]
        text: TextArgs,
        /// What the template is for.
        #[arg(long, short, default_value = "")]
        description: String,
        /// Category (default: general).
        #[arg(long, short, default_value = "")]
        category: String,
        /// A tag (repeatable).
        #[arg(long = "tag", short = 't')]
        tags: Vec<String>,
    },
    /// Change a template of yours (built-ins cannot be changed).
    Edit {
        /// Template id or name.
        id: String,
        #[command(flatten)]
        text: TextArgs,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long, short)]
        description: Option<String>,
        /// New category.
        #[arg(long, short)]
        category: Option<String>,
        /// Replace the tags (repeatable).
        #[arg(long = "tag", short = 't')]
        tags: Vec<String>,
    },
    /// Delete a template of yours (to the trash; built-ins cannot be deleted).
    Delete {
        /// Template id or name.
        id: String,
    },
    /// Write templates to a JSON file to share them.
    Export {
        /// Template ids (default: all of yours).
        ids: Vec<String>,
        /// The file to write.
        #[arg(long, short, required = true)]
        output: PathBuf,
    },
    /// Read templates from a file written by `llf template export`.
    Import {
        /// The file.
        file: PathBuf,
        /// Replace templates of yours that have the same id.
        #[arg(long)]
        overwrite: bool,
    },
    /// How often each template was used.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TextArgs {
    /// The template text, e.g. "Summarise {text} in {n} bullet points".
    #[arg(long = "template", conflicts_with = "file", value_name = "TEXT")]
    template: Option<String>,
    /// Read the template text from this file.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

impl TextArgs {
    fn read(self) -> anyhow::Result<Option<String>> {
        match (self.template, self.file) {
            (Some(t), _) => Ok(Some(t)),
            (None, Some(f)) => {
                Ok(Some(std::fs::read_to_string(&f).map_err(|e| {
                    anyhow::anyhow!("cannot read {}: {e}", f.display())
                })?))
            }
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// Template id or name.
    id: String,
    /// A value: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A value read from a file: NAME=PATH (repeatable).
    #[arg(long = "var-file", value_name = "NAME=PATH")]
    var_files: Vec<String>,
    /// Send the prompt to the model, stream the answer, and save both as a new conversation.
    #[arg(long)]
    execute: bool,
    #[command(flatten)]
    target: super::conversation::TargetArgs,
}

pub(crate) async fn run(ctx: &Context, cmd: TemplateCmd) -> anyhow::Result<()> {
    let store = ctx.llf()?.templates();
    match cmd {
        TemplateCmd::List {
            category,
            tag,
            json,
        } => {
            let list = store.list(&TemplateFilter { category, tag })?;
            if json {
                return output::json(&serde_json::to_value(&list)?);
            }
            output::line(format!(
                "{:<20}  {:<12}  {:<8}  {:<30}  {}",
                "ID", "CATEGORY", "SOURCE", "VARIABLES", "DESCRIPTION"
            ))?;
            for t in &list {
                output::line(format!(
                    "{:<20}  {:<12}  {:<8}  {:<30}  {}",
                    t.id,
                    t.category,
                    if t.builtin { "built-in" } else { "user" },
                    t.variables.join(", "),
                    t.description
                ))?;
            }
        }
        TemplateCmd::Show { id, json } => {
            let t = store.get(&id)?;
            let uses = store.usage_of(&t.id)?;
            if json {
                let mut v = serde_json::to_value(&t)?;
                v["usage_count"] = uses.into();
                return output::json(&v);
            }
            show(&t, uses)?;
        }
        TemplateCmd::Use(args) => {
            let values = values(&args)?;
            let text = store.render(&args.id, &values)?;
            if !args.execute {
                output::line(text)?;
                return Ok(());
            }
            let t = store.get(&args.id)?;
            let history = ctx.llf()?.history().await?;
            let conv = history
                .create_conversation(format!("{}: {}", t.name, first_line(&text)), None)
                .await?;
            super::history_chat::send(ctx, &conv.id, &text, &args.target.target()).await?;
        }
        TemplateCmd::Create {
            name,
            text,
            description,
            category,
            tags,
        } => {
            let Some(template) = text.read()? else {
                anyhow::bail!("give the template text with --template TEXT or --file PATH");
            };
            let t = store.create(NewTemplate {
                name,
                template,
                description,
                category,
                tags,
                author: None,
            })?;
            eprintln!(
                "created template {} with variables: {}",
                t.id,
                list_or_none(&t.variables)
            );
        }
        TemplateCmd::Edit {
            id,
            text,
            name,
            description,
            category,
            tags,
        } => {
            let edit = TemplateEdit {
                template: text.read()?,
                description,
                category,
                tags: if tags.is_empty() { None } else { Some(tags) },
                name,
            };
            if edit == TemplateEdit::default() {
                anyhow::bail!(
                    "nothing to change: pass --template, --file, --name, --description, --category or --tag"
                );
            }
            let t = store.edit(&id, edit)?;
            eprintln!("updated template {} (version {})", t.id, t.version);
        }
        TemplateCmd::Delete { id } => {
            let trash = ctx.llf()?.file_trash().await?;
            let item = store.delete(&id, trash).await?;
            eprintln!(
                "moved template {} to the trash; `llf trash restore {}` brings it back",
                item.name, item.id
            );
        }
        TemplateCmd::Export { ids, output: path } => {
            let n = store.export(&ids, &path)?;
            eprintln!("wrote {n} template(s) to {}", path.display());
        }
        TemplateCmd::Import { file, overwrite } => {
            let ids = store.import(&file, overwrite)?;
            eprintln!("imported {} template(s): {}", ids.len(), ids.join(", "));
        }
        TemplateCmd::Stats { json } => {
            let stats = store.stats()?;
            if json {
                return output::json(&serde_json::to_value(&stats)?);
            }
            if stats.is_empty() {
                eprintln!("no template has been used yet");
                return Ok(());
            }
            output::line(format!("{:<24}  {:>6}  {}", "ID", "USES", "LAST USED"))?;
            for u in &stats {
                output::line(format!(
                    "{:<24}  {:>6}  {}",
                    u.id,
                    u.count,
                    u.last_used
                        .map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                ))?;
            }
        }
    }
    Ok(())
}

fn show(t: &PromptTemplate, uses: u64) -> anyhow::Result<()> {
    output::line(format!("{} — {}", t.id, t.name))?;
    if !t.description.is_empty() {
        output::line(&t.description)?;
    }
    output::line(format!(
        "category: {}   tags: {}   version: {}   {}   used {uses} time(s)",
        t.category,
        list_or_none(&t.tags),
        t.version,
        if t.builtin {
            "built-in"
        } else {
            "user template"
        }
    ))?;
    output::line(format!("variables: {}", list_or_none(&t.variables)))?;
    output::line("")?;
    output::line(&t.template)?;
    Ok(())
}

/// Values from `--var NAME=VALUE` and `--var-file NAME=PATH`.
pub(crate) fn values(args: &UseArgs) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let split = |s: &str, what: &str| -> anyhow::Result<(String, String)> {
        s.split_once('=')
            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            .ok_or_else(|| anyhow::anyhow!("`{s}` is not {what}"))
    };
    for v in &args.vars {
        let (k, val) = split(v, "NAME=VALUE")?;
        out.insert(k, val);
    }
    for v in &args.var_files {
        let (k, path) = split(v, "NAME=PATH")?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?;
        out.insert(k, text.trim_end_matches('\n').to_owned());
    }
    Ok(out)
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    llf::core::text::truncate(line, 49).into_owned()
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}
