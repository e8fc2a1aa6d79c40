//! The interactive chat session: line editing and history (rustyline) on a terminal, plain lines
//! from stdin otherwise; slash commands; streaming answers that Ctrl-C stops without losing the
//! conversation; a supervisor that restarts a crashed local server.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use llf_runtime::server::{RestartPolicy, Supervisor, SupervisorEvent};
use llf_runtime::{ChatSession, Connection, Runtime, Target};
use tokio::sync::mpsc;

use super::{connect, render, transcript};
use crate::Context;

const HELP: &str = "\
Commands:
  /help                 this help
  /exit, /quit          leave (Ctrl-D too)
  /clear                forget the conversation
  /model [NAME|remote]  show or switch the model (a local server name); the conversation is kept
  /system [TEXT]        show or replace the system prompt
  /save FILE            save the conversation as JSON
  /load FILE            load a conversation saved with /save
Multi-line input: end a line with \\ to continue it, or wrap a block in \"\"\" lines.
Ctrl-C stops an answer and keeps what arrived.";

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
            let mut editor = if interactive { rustyline::DefaultEditor::new().ok() } else { None };
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
        Self { requests: req_tx, lines }
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

pub(super) async fn run(ctx: &Context, rt: &Runtime, mut session: ChatSession, conn: Connection, target: Target) -> anyhow::Result<()> {
    let state_dir = ctx.config()?.paths().state.clone();
    let _ = std::fs::create_dir_all(&state_dir);
    let mut reader = LineReader::spawn(Some(state_dir.join("chat_history.txt")));
    let mut supervisor = supervise(rt, &conn);
    let mut current = describe(&conn, &target);
    eprintln!("chatting with {current} — /help for commands, Ctrl-D to leave");

    loop {
        if let Some(sup) = supervisor.as_mut() {
            while let Some(ev) = sup.try_event() {
                match ev {
                    SupervisorEvent::Restarted { pid, .. } => eprintln!("note: the server crashed and was restarted (pid {pid})"),
                    SupervisorEvent::RestartFailed { error } => eprintln!("note: restarting the crashed server failed: {error}"),
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
        if let Some(cmd) = trimmed.strip_prefix('/') {
            let (name, arg) = cmd.split_once(char::is_whitespace).map(|(n, a)| (n, a.trim())).unwrap_or((cmd, ""));
            match name {
                "exit" | "quit" => break,
                "help" => eprintln!("{HELP}"),
                "clear" => {
                    session.clear();
                    eprintln!("conversation cleared");
                }
                "system" if arg.is_empty() => eprintln!("system prompt: {}", session.system_prompt().unwrap_or("(none)")),
                "system" => {
                    session.builder_mut().set_system_prompt(Some(arg.to_owned()));
                    eprintln!("system prompt replaced");
                }
                "model" if arg.is_empty() => eprintln!("talking to {current}"),
                "model" => {
                    let new_target = if arg == "remote" { Target::Remote } else { Target::Server(arg.to_owned()) };
                    match connect(rt, &new_target).await {
                        Ok(c) => {
                            session.switch_client(c.client.clone(), c.limit.clone());
                            supervisor = supervise(rt, &c);
                            current = describe(&c, &new_target);
                            eprintln!("now talking to {current}; the conversation is kept");
                        }
                        Err(e) => eprintln!("error: {e:#}"),
                    }
                }
                "save" if !arg.is_empty() => match transcript::save(arg.as_ref(), session.system_prompt(), session.history()) {
                    Ok(()) => eprintln!("saved {} messages to {arg}", session.history().len()),
                    Err(e) => eprintln!("error: {e:#}"),
                },
                "load" if !arg.is_empty() => match transcript::load(arg.as_ref()) {
                    Ok((system, messages)) => {
                        let n = messages.len();
                        session.set_history(messages);
                        if system.is_some() {
                            session.builder_mut().set_system_prompt(system);
                        }
                        eprintln!("loaded {n} messages from {arg}");
                    }
                    Err(e) => eprintln!("error: {e:#}"),
                },
                "save" | "load" => eprintln!("usage: /{name} FILE"),
                other => eprintln!("unknown command /{other}; /help lists them"),
            }
            continue;
        }
        ask(&mut session, &input).await?;
    }
    Ok(())
}

/// Sends one message and streams the answer; the exchange joins the conversation even when it was
/// interrupted (with what arrived).
async fn ask(session: &mut ChatSession, input: &str) -> anyhow::Result<()> {
    let built = match session.prepare(input).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(());
        }
    };
    render::debug_prompt(&built);
    let stream = match session.stream(&built).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(());
        }
    };
    match render::stream_to_stdout(stream, built.elapsed).await? {
        render::Outcome::Done(c) => {
            render::status_line(&c);
            session.push_turn(input, &c.content);
        }
        render::Outcome::Interrupted(partial) => {
            eprintln!("[interrupted; the partial answer is kept]");
            session.push_turn(input, &partial);
        }
        render::Outcome::Failed(e, partial) => {
            eprintln!("error: {e}");
            if !partial.is_empty() {
                session.push_turn(input, &partial);
            }
        }
    }
    Ok(())
}

fn supervise(rt: &Runtime, conn: &Connection) -> Option<Supervisor> {
    conn.server.as_ref().map(|s| Supervisor::start(Arc::clone(rt.servers()), s.name.clone(), RestartPolicy::default()))
}

fn describe(conn: &Connection, target: &Target) -> String {
    match (&conn.server, target) {
        (Some(s), _) => format!("`{}` ({})", s.name, conn.client.model()),
        (None, _) => format!("{} at {}", conn.client.model(), conn.client.endpoint()),
    }
}
