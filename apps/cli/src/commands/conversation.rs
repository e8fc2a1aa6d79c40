//! `llf conversation …`: saved chats — list, read, search, branch, export and import.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use llf::core::chat::Role;
use llf::export::{ExportOptions, Format, Scope};
use llf::history::{History, ListFilter, MessageId, MessageStatus, SearchQuery, StoredMessage};

use crate::Context;
use crate::output;
use llf::core::text::truncate;
use llf::core::time::parse_date;

/// `llf conversation` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConversationCmd {
    /// List saved conversations, most recent first.
    List {
        /// List the deleted ones (restorable until the trash retention passes).
        #[arg(long)]
        deleted: bool,
        /// At most this many.
        #[arg(long, short = 'n')]
        limit: Option<u32>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a conversation: the active branch, one branch, or the whole tree.
    Show {
        /// Conversation id (any unique prefix).
        id: String,
        /// Show every branch as an indented tree with message ids.
        #[arg(long, conflicts_with = "branch")]
        tree: bool,
        /// Show the branch ending at this message id instead of the active one.
        #[arg(long, value_name = "MESSAGE")]
        branch: Option<MessageId>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Continue a saved conversation with one more message: the answer is streamed and saved.
    ///
    /// The model sees the active branch (see `branch`/`navigate` to pick another one).
    Resume {
        /// Conversation id (any unique prefix).
        id: String,
        /// The message to send.
        #[arg(required = true)]
        message: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Give a conversation a new title.
    Rename {
        /// Conversation id (any unique prefix).
        id: String,
        /// The new title.
        title: String,
    },
    /// Delete conversations (restorable with `llf conversation restore` until purged).
    Delete {
        /// Conversation ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Bring deleted conversations back.
    Restore {
        /// Conversation ids (see `llf conversation list --deleted`).
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Full-text search over every message; matches are highlighted.
    ///
    /// Every word must occur; `word*` matches words starting with "word".
    Search(SearchArgs),
    /// List a conversation's branches, or start a new one from any message.
    ///
    /// Without --from: lists the branches (one per leaf). With --from MSG: the conversation
    /// continues from MSG; with --message TEXT as well, TEXT is saved there as a new user message.
    Branch {
        /// Conversation id (any unique prefix).
        id: String,
        /// Message id to branch from (see `llf conversation show ID --tree`).
        #[arg(long, value_name = "MESSAGE")]
        from: Option<MessageId>,
        /// Text of the first message of the new branch.
        #[arg(long, requires = "from")]
        message: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move the conversation's position to a message: resuming continues from there.
    Navigate {
        /// Conversation id (any unique prefix).
        id: String,
        /// Message id to go to.
        message: MessageId,
    },
    /// Show two branches side by side, from where they part.
    CompareBranches {
        /// Conversation id (any unique prefix).
        id: String,
        /// Last message of the first branch.
        left: MessageId,
        /// Last message of the second branch.
        right: MessageId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a conversation to Markdown, JSON, HTML, text or PDF.
    Export(ExportArgs),
    /// Import conversations from an LLF JSON export or ChatGPT's conversations.json.
    ///
    /// Conversations imported before (or exported from this history) are skipped and reported.
    Import {
        /// The file.
        file: PathBuf,
        /// Import conversations that are here already once more, as copies.
        #[arg(long)]
        allow_duplicates: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which model endpoint answers.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// Talk to this local server instead of the default.
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// Talk to the remote endpoint (llm_endpoint.api_base_url).
    #[arg(long, conflicts_with = "server")]
    remote: bool,
}

impl TargetArgs {
    pub(crate) fn target(&self) -> llf::runtime::Target {
        match (&self.server, self.remote) {
            (Some(n), _) => llf::runtime::Target::Server(n.clone()),
            (None, true) => llf::runtime::Target::Remote,
            (None, false) => llf::runtime::Target::Default,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Words to find.
    #[arg(required = true)]
    query: Vec<String>,
    /// Only messages of this role: user, assistant, system or tool.
    #[arg(long)]
    role: Option<String>,
    /// Only messages from this date on (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only messages before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Only this conversation.
    #[arg(long)]
    conversation: Option<String>,
    /// At most this many hits.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Conversation id (any unique prefix).
    id: String,
    /// markdown, json, html, text or pdf (default: from the output's extension, else markdown).
    #[arg(long, short)]
    format: Option<String>,
    /// File to write (atomically); stdout when omitted (not for PDF).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Export every branch, not only the active one.
    #[arg(long, conflicts_with = "branch")]
    tree: bool,
    /// Export the branch ending at this message.
    #[arg(long, value_name = "MESSAGE")]
    branch: Option<MessageId>,
    /// Leave out message times.
    #[arg(long)]
    no_timestamps: bool,
    /// Leave out system prompts.
    #[arg(long)]
    no_system: bool,
    /// Leave out the header (id, model, dates, counts).
    #[arg(long)]
    no_metadata: bool,
    /// Only messages from this date on (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only messages before this date.
    #[arg(long)]
    until: Option<String>,
    /// TrueType font for PDF (default: DejaVu Sans from fonts-dejavu-core).
    #[arg(long)]
    font: Option<PathBuf>,
}

pub(crate) async fn run(ctx: &Context, cmd: ConversationCmd) -> anyhow::Result<()> {
    let history = ctx.llf()?.history().await?;
    match cmd {
        ConversationCmd::List {
            deleted,
            limit,
            json,
        } => {
            let list = history.list(&ListFilter { deleted, limit }).await?;
            if json {
                return output::json(&serde_json::to_value(&list)?);
            }
            if list.is_empty() {
                eprintln!(
                    "no conversations{}",
                    if deleted { " in the trash" } else { " yet" }
                );
                return Ok(());
            }
            output::line(format!(
                "{:<26}  {:<32}  {:>5}  {:>8}  {:<16}  {}",
                "ID", "TITLE", "MSGS", "BRANCHES", "UPDATED", "MODEL"
            ))?;
            for s in &list {
                let c = &s.conversation;
                output::line(format!(
                    "{:<26}  {:<32}  {:>5}  {:>8}  {:<16}  {}",
                    c.id,
                    truncate(&c.title, 32),
                    s.message_count,
                    s.branch_count,
                    c.updated_at.format("%Y-%m-%d %H:%M"),
                    c.model.as_deref().unwrap_or("-"),
                ))?;
            }
        }
        ConversationCmd::Show {
            id,
            tree,
            branch,
            json,
        } => {
            let conv = history.conversation(&id).await?;
            let messages = if tree {
                history.tree(&conv.id).await?.messages
            } else if let Some(leaf) = branch {
                history.path(&conv.id, leaf).await?
            } else {
                history.current_path(&conv.id).await?
            };
            if json {
                return output::json(
                    &serde_json::json!({ "conversation": conv, "messages": messages }),
                );
            }
            output::line(format!("{}  ({})", conv.title, conv.id))?;
            let depth = depths(&messages);
            for m in &messages {
                let indent = if tree {
                    "  ".repeat(depth(m))
                } else {
                    String::new()
                };
                let here = if conv.current_leaf == Some(m.id) {
                    " ← current"
                } else {
                    ""
                };
                output::line(format!("{indent}#{} {}{}{here}", m.id, label(m), status(m)))?;
                if !tree || m.message.content.chars().count() <= 200 {
                    for l in m.message.content.lines() {
                        output::line(format!("{indent}  {l}"))?;
                    }
                } else {
                    output::line(format!(
                        "{indent}  {}",
                        truncate(&m.message.content.replace('\n', " "), 200)
                    ))?;
                }
                for call in &m.message.tool_calls {
                    output::line(format!(
                        "{indent}  → {}({}) [{}]",
                        call.name, call.arguments, call.id
                    ))?;
                }
            }
        }
        ConversationCmd::Resume {
            id,
            message,
            target,
        } => {
            super::history_chat::send(ctx, &id, &message.join(" "), &target.target()).await?;
        }
        ConversationCmd::Rename { id, title } => {
            let c = history.rename(&id, title).await?;
            eprintln!("renamed {} to \"{}\"", c.id, c.title);
        }
        ConversationCmd::Delete { ids } => {
            let days = ctx.config()?.config().trash.retention_days;
            for id in ids {
                let c = history.delete(&id).await?;
                eprintln!(
                    "deleted \"{}\" ({}); `llf conversation restore {}` brings it back within {days} days",
                    c.title, c.id, c.id
                );
            }
        }
        ConversationCmd::Restore { ids } => {
            for id in ids {
                let c = history.restore(&id).await?;
                eprintln!("restored \"{}\" ({})", c.title, c.id);
            }
        }
        ConversationCmd::Search(args) => search(history, args).await?,
        ConversationCmd::Branch {
            id,
            from,
            message,
            json,
        } => {
            let conv = history.conversation(&id).await?;
            if let Some(from) = from {
                let m = match message {
                    Some(text) => {
                        history
                            .append_under(
                                &conv.id,
                                Some(from),
                                llf::core::chat::ChatMessage::user(text),
                            )
                            .await?
                    }
                    None => history.checkout(&conv.id, from).await?,
                };
                eprintln!(
                    "conversation {} now continues from message #{}",
                    conv.id, m.id
                );
                if json {
                    output::json(&serde_json::to_value(&m)?)?;
                }
                return Ok(());
            }
            let branches = history.branches(&conv.id).await?;
            if json {
                return output::json(&serde_json::to_value(&branches)?);
            }
            output::line(format!(
                "{:<3}{:>7}  {:>6}  {:<10}  {}",
                "", "LEAF", "LENGTH", "ROLE", "LAST MESSAGE"
            ))?;
            for b in &branches {
                output::line(format!(
                    "{:<3}{:>7}  {:>6}  {:<10}  {}",
                    if b.current { "*" } else { "" },
                    format!("#{}", b.leaf.id),
                    b.length,
                    b.leaf.role(),
                    truncate(&b.leaf.message.content.replace('\n', " "), 60)
                ))?;
            }
        }
        ConversationCmd::Navigate { id, message } => {
            let conv = history.conversation(&id).await?;
            let m = history.checkout(&conv.id, message).await?;
            let path = history.path(&conv.id, m.id).await?;
            eprintln!(
                "now at message #{} ({} messages from the start)",
                m.id,
                path.len()
            );
        }
        ConversationCmd::CompareBranches {
            id,
            left,
            right,
            json,
        } => {
            let cmp = history.compare(&id, left, right).await?;
            if json {
                return output::json(&serde_json::to_value(&cmp)?);
            }
            output::line(format!("shared: {} message(s)", cmp.common.len()))?;
            if let Some(last) = cmp.common.last() {
                output::line(format!(
                    "  last shared #{} {}: {}",
                    last.id,
                    label(last),
                    truncate(&last.message.content.replace('\n', " "), 70)
                ))?;
            }
            side_by_side(&cmp.left, &cmp.right, left, right)?;
        }
        ConversationCmd::Export(args) => export(history, args).await?,
        ConversationCmd::Import {
            file,
            allow_duplicates,
            json,
        } => import(history, &file, allow_duplicates, json).await?,
    }
    Ok(())
}

async fn import(
    history: &History,
    file: &std::path::Path,
    allow_duplicates: bool,
    json: bool,
) -> anyhow::Result<()> {
    use llf::export::ImportOutcome;
    let options = llf::export::ImportOptions::new().allow_duplicates(allow_duplicates);
    let report = llf::export::import_file(history, file, &options).await?;
    if json {
        output::json(&serde_json::to_value(&report)?)?;
    }
    for item in &report.conversations {
        let title = &item.title;
        match &item.outcome {
            ImportOutcome::Imported {
                conversation,
                left_out,
            } => {
                if !json {
                    output::line(format!("{}  {}", conversation.id, conversation.title))?;
                }
                if *left_out > 0 {
                    eprintln!(
                        "warning: \"{title}\": {left_out} message(s) were left out: no root of the file's tree reaches them (its parent links form a cycle)"
                    );
                }
            }
            ImportOutcome::AlreadyPresent { existing } => {
                let trash = if existing.deleted_at.is_some() {
                    format!(
                        " (in the trash: `llf conversation restore {}`)",
                        existing.id
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "skipped \"{title}\": already here as {}{trash}; --allow-duplicates imports a copy",
                    existing.id
                );
            }
            ImportOutcome::Empty => eprintln!("skipped \"{title}\": it has no messages"),
            ImportOutcome::Unreachable { left_out } => eprintln!(
                "skipped \"{title}\": none of its {left_out} message(s) is reachable from a root (the file's parent links form a cycle)"
            ),
            _ => eprintln!("skipped \"{title}\""),
        }
    }
    eprintln!(
        "imported {} conversation(s) from {}",
        report.imported().count(),
        file.display()
    );
    let lost = report.left_out();
    if lost > 0 {
        anyhow::bail!(
            "{lost} message(s) of {} could not be imported because the file is damaged (see above); export it again from its source",
            file.display()
        );
    }
    Ok(())
}

async fn search(history: &History, args: SearchArgs) -> anyhow::Result<()> {
    let tty = crate::text::color(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let mut q = SearchQuery::new(args.query.join(" ")).limit(args.limit);
    if tty && !args.json {
        q = q.highlight("\x1b[1;33m", "\x1b[0m");
    }
    if let Some(r) = &args.role {
        q = q.role(r.parse::<Role>()?);
    }
    if let Some(s) = &args.since {
        q = q.since(parse_date(s)?);
    }
    if let Some(u) = &args.until {
        q = q.until(parse_date(u)?);
    }
    if let Some(c) = args.conversation {
        q = q.conversation(c);
    }
    let hits = history.search(&q).await?;
    if args.json {
        return output::json(&serde_json::to_value(&hits)?);
    }
    if hits.is_empty() {
        eprintln!("no matches");
        return Ok(());
    }
    for h in &hits {
        let m = &h.message;
        output::line(format!(
            "{}  #{}  {}  {}  \"{}\"",
            m.conversation_id,
            m.id,
            m.role(),
            m.created_at.format("%Y-%m-%d %H:%M"),
            truncate(&h.conversation_title, 40)
        ))?;
        output::line(format!("    {}", h.snippet.replace('\n', " ")))?;
    }
    Ok(())
}

async fn export(history: &History, args: ExportArgs) -> anyhow::Result<()> {
    let format: Format = match (&args.format, &args.output) {
        (Some(f), _) => f.parse()?,
        (None, Some(p)) => Format::from_path(p).unwrap_or(Format::Markdown),
        (None, None) => Format::Markdown,
    };
    let scope = if args.tree {
        Scope::Tree
    } else if let Some(b) = args.branch {
        Scope::Branch(b)
    } else {
        Scope::CurrentBranch
    };
    let since = args.since.as_deref().map(parse_date).transpose()?;
    let until = args.until.as_deref().map(parse_date).transpose()?;
    let mut opts = ExportOptions::new(format)
        .scope(scope)
        .timestamps(!args.no_timestamps)
        .system_prompts(!args.no_system)
        .metadata(!args.no_metadata)
        .date_range(since, until);
    if let Some(f) = args.font {
        opts = opts.font(f);
    }
    let bytes = llf::export::export(history, &args.id, &opts).await?;
    match args.output {
        Some(path) => {
            llf::export::write_file(&path, &bytes)?;
            eprintln!(
                "wrote {} ({})",
                path.display(),
                output::bytes(bytes.len() as u64)
            );
        }
        None if format == Format::Pdf => {
            anyhow::bail!("a PDF is binary: pass --output FILE.pdf")
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(&bytes)?;
        }
    }
    Ok(())
}

fn side_by_side(
    left: &[StoredMessage],
    right: &[StoredMessage],
    l: MessageId,
    r: MessageId,
) -> anyhow::Result<()> {
    const W: usize = 46;
    let column = |msgs: &[StoredMessage]| -> Vec<String> {
        let mut lines = Vec::new();
        for m in msgs {
            lines.push(format!("#{} {}", m.id, label(m)));
            for l in m.message.content.lines() {
                let chars: Vec<char> = l.chars().collect();
                if chars.is_empty() {
                    lines.push(String::new());
                }
                for chunk in chars.chunks(W - 2) {
                    lines.push(format!("  {}", chunk.iter().collect::<String>()));
                }
            }
            lines.push(String::new());
        }
        lines
    };
    let (a, b) = (column(left), column(right));
    let (head_l, head_r) = (format!("branch to #{l}"), format!("branch to #{r}"));
    output::line(format!("{head_l:<W$} │ {head_r}"))?;
    output::line(format!("{}─┼─{}", "─".repeat(W), "─".repeat(W)))?;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).map_or("", String::as_str);
        let y = b.get(i).map_or("", String::as_str);
        let pad = W.saturating_sub(x.chars().count());
        output::line(format!("{x}{} │ {y}", " ".repeat(pad)))?;
    }
    Ok(())
}

fn depths(messages: &[StoredMessage]) -> impl Fn(&StoredMessage) -> usize {
    let mut map = std::collections::HashMap::new();
    for m in messages {
        let d = m
            .parent_id
            .and_then(|p| map.get(&p).map(|d| d + 1))
            .unwrap_or(0);
        map.insert(m.id, d);
    }
    move |m: &StoredMessage| map.get(&m.id).copied().unwrap_or(0)
}

fn label(m: &StoredMessage) -> String {
    let mut s = m.role().to_string();
    if let Some(model) = &m.model {
        s.push_str(&format!(" ({model})"));
    }
    s.push_str(&format!(" · {}", m.created_at.format("%Y-%m-%d %H:%M")));
    s
}

fn status(m: &StoredMessage) -> &'static str {
    match m.status {
        MessageStatus::Partial => " · partial (interrupted or still streaming)",
        _ => "",
    }
}
