//! The interactive chat session: line editing and history (rustyline) on a terminal, plain lines
//! from stdin otherwise; slash commands; streaming answers that Ctrl-C stops without losing the
//! conversation; a supervisor that restarts a crashed local server.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use llf_memory::MemoryContext;
use llf_runtime::server::{RestartPolicy, Supervisor, SupervisorEvent};
use llf_runtime::{BuiltPrompt, ChatSession, Connection, Runtime, Target};
use llf_tools::ToolRegistry;
use tokio::sync::mpsc;

use super::record::Recorder;
use super::{connect, render, slash, transcript};
use crate::Context;

const HELP: &str = "\
Commands:
  /help                 this help
  /exit, /quit          leave (Ctrl-D too)
  /clear                start a new conversation
  /model [NAME|remote]  show or switch the model (a local server name); the conversation is kept
  /system [TEXT]        show or replace the system prompt
  /save FILE, /load FILE   save or load the conversation as a JSON file
History (every chat is saved as it happens; `llf conversation list` shows them):
  /tree                 the conversation's branches, with message ids
  /branch [ID]          continue from message ID (default: before your last message)
  /retry                regenerate the last answer as a new branch
  /goto ID              jump to message ID
  /search WORDS         search every saved conversation
  /export FORMAT [FILE] export this conversation (markdown, json, html, text, pdf)
Memory and templates:
  /remember TEXT        store a fact in long-term memory
  /memories WORDS       search long-term memory
  /template NAME [k=v …]  render a prompt template and send it
  /tools                list the tools the model may call (with --tools)
Multi-line input: end a line with \\ to continue it, or wrap a block in \"\"\" lines.
Ctrl-C stops an answer and keeps what arrived.";

/// Everything a chat holds.
pub(crate) struct Chat {
    pub(crate) session: ChatSession,
    pub(crate) conn: Connection,
    pub(crate) target: Target,
    pub(crate) recorder: Option<Recorder>,
    pub(crate) memory: Option<Arc<MemoryContext>>,
    pub(crate) tools: Option<Arc<ToolRegistry>>,
    /// Model requests allowed per message when tools are on (`tools.max_tool_rounds`).
    pub(crate) tool_rounds: usize,
}

impl Chat {
    /// Sends one message; the exchange joins the conversation even when it was interrupted.
    pub(crate) async fn ask(&mut self, input: &str) -> anyhow::Result<()> {
        if self.tools.is_some() {
            if let Err(e) = self.ask_with_tools(input).await {
                eprintln!("error: {e:#}");
            }
            return Ok(());
        }
        let built = match self.session.prepare(input).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(());
            }
        };
        match self.ask_streaming(input, built).await {
            Ok(render::Outcome::Done(c)) => render::status_line(&c),
            Ok(render::Outcome::Interrupted(_)) => {
                eprintln!("[interrupted; the partial answer is kept]")
            }
            Ok(render::Outcome::Failed(e, _)) => eprintln!("error: {e}"),
            Err(e) => eprintln!("error: {e:#}"),
        }
        Ok(())
    }

    /// Streams the answer to a prepared prompt, saving it as it grows, and adds the exchange to
    /// the session (with what arrived, when cut short).
    pub(crate) async fn ask_streaming(
        &mut self,
        input: &str,
        built: BuiltPrompt,
    ) -> anyhow::Result<render::Outcome> {
        render::debug_prompt(&built);
        let mut row = match self.recorder.as_mut() {
            Some(r) => Some(r.begin(input).await?),
            None => None,
        };
        let stream = self.session.stream(&built).await?;
        let save = self.recorder.as_ref().zip(row.as_mut());
        let outcome = render::stream_to_stdout(stream, built.elapsed, save).await?;
        let (rec, row) = (self.recorder.as_ref(), row);
        match &outcome {
            render::Outcome::Done(c) => {
                if let (Some(r), Some(row)) = (rec, row) {
                    r.finish(row, c).await?;
                }
                self.session.push_turn(input, &c.content);
            }
            render::Outcome::Interrupted(partial) | render::Outcome::Failed(_, partial) => {
                if let (Some(r), Some(row)) = (rec, row) {
                    r.keep_partial(row, partial).await?;
                }
                if !partial.is_empty() || matches!(outcome, render::Outcome::Interrupted(_)) {
                    self.session.push_turn(input, partial);
                }
            }
        }
        Ok(outcome)
    }
}

enum Line {
    Text(String),
    Interrupted,
    Eof,
}

/// Reads lines on a thread of its own (rustyline blocks), one per request, so the prompt is only
/// drawn when the REPL is ready for input.
struct LineReader {
    requests: std::sync::mpsc::Sender<String>,
    lines: mpsc::UnboundedReceiver<Line>,
}

impl LineReader {
    fn spawn(history_file: Option<PathBuf>) -> Self {
        let (req_tx, req_rx) = std::sync::mpsc::channel::<String>();
        let (line_tx, lines) = mpsc::unbounded_channel();
        let interactive = std::io::stdin().is_terminal();
        std::thread::spawn(move || {
            let mut editor = if interactive {
                rustyline::DefaultEditor::new().ok()
            } else {
                None
            };
            if let (Some(ed), Some(h)) = (editor.as_mut(), &history_file) {
                let _ = ed.load_history(h);
            }
            let stdin = std::io::stdin();
            while let Ok(prompt) = req_rx.recv() {
                let line = match editor.as_mut() {
                    Some(ed) => match ed.readline(&prompt) {
                        Ok(l) => {
                            if !l.trim().is_empty() {
                                let _ = ed.add_history_entry(l.as_str());
                            }
                            Line::Text(l)
                        }
                        Err(rustyline::error::ReadlineError::Interrupted) => Line::Interrupted,
                        Err(_) => Line::Eof,
                    },
                    None => {
                        let mut buf = String::new();
                        match stdin.read_line(&mut buf) {
                            Ok(0) | Err(_) => Line::Eof,
                            Ok(_) => Line::Text(buf.trim_end_matches(['\n', '\r']).to_owned()),
                        }
                    }
                };
                let eof = matches!(line, Line::Eof);
                if line_tx.send(line).is_err() || eof {
                    break;
                }
            }
            if let (Some(ed), Some(h)) = (editor.as_mut(), &history_file) {
                let _ = ed.save_history(h);
            }
        });
        Self {
            requests: req_tx,
            lines,
        }
    }

    async fn read(&mut self, prompt: &str) -> Line {
        if self.requests.send(prompt.to_owned()).is_err() {
            return Line::Eof;
        }
        self.lines.recv().await.unwrap_or(Line::Eof)
    }

    /// Reads one message, joining `\`-continued lines and `"""` blocks.
    async fn read_message(&mut self) -> Line {
        let first = match self.read("> ").await {
            Line::Text(t) => t,
            other => return other,
        };
        if first.trim() == "\"\"\"" {
            let mut block = Vec::new();
            loop {
                match self.read("… ").await {
                    Line::Text(t) if t.trim() == "\"\"\"" => return Line::Text(block.join("\n")),
                    Line::Text(t) => block.push(t),
                    other => return other,
                }
            }
        }
        let mut text = first;
        while text.ends_with('\\') {
            text.pop();
            text.push('\n');
            match self.read("… ").await {
                Line::Text(t) => text.push_str(&t),
                other => return other,
            }
        }
        Line::Text(text)
    }
}

pub(super) async fn run(ctx: &Context, rt: &Runtime, mut chat: Chat) -> anyhow::Result<()> {
    let state_dir = ctx.config()?.paths().state.clone();
    let _ = std::fs::create_dir_all(&state_dir);
    let mut reader = LineReader::spawn(Some(state_dir.join("chat_history.txt")));
    let mut supervisor = supervise(rt, &chat.conn);
    let mut current = describe(&chat.conn);
    eprintln!("chatting with {current} — /help for commands, Ctrl-D to leave");

    loop {
        if let Some(sup) = supervisor.as_mut() {
            while let Some(ev) = sup.try_event() {
                match ev {
                    SupervisorEvent::Restarted { pid, .. } => {
                        eprintln!("note: the server crashed and was restarted (pid {pid})")
                    }
                    SupervisorEvent::RestartFailed { error } => {
                        eprintln!("note: restarting the crashed server failed: {error}")
                    }
                    SupervisorEvent::CrashLoop { restarts, log } => eprintln!(
                        "error: the server crashed {restarts} times in a row; not restarting it again (see {})",
                        log.display()
                    ),
                }
            }
        }
        let input = match reader.read_message().await {
            Line::Text(t) => t,
            Line::Interrupted => continue,
            Line::Eof => break,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(cmd) = trimmed.strip_prefix('/') else {
            chat.ask(&input).await?;
            continue;
        };
        let (name, arg) = cmd
            .split_once(char::is_whitespace)
            .map(|(n, a)| (n, a.trim()))
            .unwrap_or((cmd, ""));
        match name {
            "exit" | "quit" => break,
            "help" => eprintln!("{HELP}"),
            "clear" => {
                chat.session.clear();
                if let Some(r) = chat.recorder.as_mut() {
                    r.conversation = None;
                }
                eprintln!("conversation cleared; the next message starts a new one");
            }
            "system" if arg.is_empty() => eprintln!(
                "system prompt: {}",
                chat.session.system_prompt().unwrap_or("(none)")
            ),
            "system" => {
                chat.session
                    .builder_mut()
                    .set_system_prompt(Some(arg.to_owned()));
                if let Some(r) = chat.recorder.as_mut() {
                    r.set_system_prompt(Some(arg.to_owned()));
                }
                eprintln!("system prompt replaced");
            }
            "model" if arg.is_empty() => eprintln!("talking to {current}"),
            "model" => {
                let new_target = if arg == "remote" {
                    Target::Remote
                } else {
                    Target::Server(arg.to_owned())
                };
                match connect(rt, &new_target).await {
                    Ok(c) => {
                        chat.session
                            .switch_client(c.client.clone(), c.limit.clone());
                        if let Some(r) = chat.recorder.as_mut() {
                            r.set_model(c.client.model());
                        }
                        supervisor = supervise(rt, &c);
                        current = describe(&c);
                        chat.conn = c;
                        chat.target = new_target;
                        eprintln!("now talking to {current}; the conversation is kept");
                    }
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
            "save" if !arg.is_empty() => match transcript::save(
                arg.as_ref(),
                chat.session.system_prompt(),
                chat.session.history(),
            ) {
                Ok(()) => eprintln!("saved {} messages to {arg}", chat.session.history().len()),
                Err(e) => eprintln!("error: {e:#}"),
            },
            "load" if !arg.is_empty() => match transcript::load(arg.as_ref()) {
                Ok((system, messages)) => {
                    let n = messages.len();
                    chat.session.set_history(messages);
                    if system.is_some() {
                        chat.session.builder_mut().set_system_prompt(system);
                    }
                    eprintln!("loaded {n} messages from {arg}");
                }
                Err(e) => eprintln!("error: {e:#}"),
            },
            "save" | "load" | "goto" | "search" | "remember" | "memories" | "template"
            | "export"
                if arg.is_empty() =>
            {
                eprintln!("usage: /{name} {}", slash::usage(name));
            }
            other => {
                if let Err(e) = slash::run(ctx, &mut chat, other, arg).await {
                    eprintln!("error: {e:#}");
                }
            }
        }
    }
    Ok(())
}

fn supervise(rt: &Runtime, conn: &Connection) -> Option<Supervisor> {
    conn.server.as_ref().map(|s| {
        Supervisor::start(
            Arc::clone(rt.servers()),
            s.name.clone(),
            RestartPolicy::default(),
        )
    })
}

fn describe(conn: &Connection) -> String {
    match &conn.server {
        Some(s) => format!("`{}` ({})", s.name, conn.client.model()),
        None => format!("{} at {}", conn.client.model(), conn.client.endpoint()),
    }
}
