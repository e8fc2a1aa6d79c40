//! The interactive chat session: line editing and history (rustyline) on a terminal, plain lines
//! from stdin otherwise; slash commands; streaming answers that Ctrl-C stops without losing the
//! conversation; a supervisor that restarts a crashed local server.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use llf::Llf;
use llf::chat::Chat;
use llf::runtime::Target;
use llf::runtime::server::{RestartPolicy, Supervisor, SupervisorEvent};
use tokio::sync::mpsc;

use super::{no_echo, render, slash, transcript};

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

/// Sends one message and prints the answer; the exchange joins the conversation even when it was
/// interrupted or failed (with what arrived).
pub(crate) async fn ask(chat: &Chat, input: &str) -> anyhow::Result<()> {
    let show = render::Show {
        tokens: true,
        tools: true,
    };
    let quiet = no_echo::NoEcho::start();
    let outcome = render::turn(chat.send(input), show).await?;
    drop(quiet);
    report(outcome);
    Ok(())
}

/// Prints how a turn ended.
pub(crate) fn report(outcome: render::Outcome) {
    match outcome {
        render::Outcome::Done(s) => render::status_line(&s.completion),
        render::Outcome::Interrupted => eprintln!("[interrupted; the partial answer is kept]"),
        render::Outcome::Failed(e) => eprintln!("error: {e}"),
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

    /// Reads one message, joining `\`-continued lines and `"""` blocks (typed line by line, or
    /// pasted at once: a bracketed paste arrives as one text with newlines).
    async fn read_message(&mut self) -> Line {
        let first = match self.read("> ").await {
            Line::Text(t) => t,
            other => return other,
        };
        match Block::of(&first) {
            Block::Line => {}
            Block::Whole(text) => return Line::Text(text),
            Block::Open(mut block) => loop {
                // A read may be a paste of several lines, the closing fence among them.
                let more = match self.read("… ").await {
                    Line::Text(t) => t,
                    other => return other,
                };
                for line in more.lines() {
                    if line.trim() == FENCE {
                        return Line::Text(block.join("\n"));
                    }
                    block.push(line.to_owned());
                }
                if more.is_empty() {
                    block.push(String::new());
                }
            },
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

const FENCE: &str = "\"\"\"";

/// What the first line of a message says about the lines after it.
#[derive(Debug, PartialEq)]
enum Block {
    /// An ordinary line (it may still end in `\`).
    Line,
    /// A pasted `"""` block with both fences: the text between them.
    Whole(String),
    /// A `"""` block that continues on the next lines: what it holds so far.
    Open(Vec<String>),
}

impl Block {
    fn of(first: &str) -> Self {
        let mut lines = first.lines();
        if lines.next().map(str::trim) != Some(FENCE) {
            return Block::Line;
        }
        let mut body = Vec::new();
        for line in lines {
            if line.trim() == FENCE {
                return Block::Whole(body.join("\n"));
            }
            body.push(line.to_owned());
        }
        Block::Open(body)
    }
}

pub(super) async fn run(llf: &Llf, chat: &Chat) -> anyhow::Result<()> {
    let history_file = llf.locations().chat_line_history();
    if let Some(dir) = history_file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut reader = LineReader::spawn(Some(history_file));
    let mut supervisor = supervise(llf, chat).await;
    let mut current = chat.describe().await.unwrap_or_default();
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
            ask(chat, &input).await?;
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
                chat.clear().await;
                eprintln!("conversation cleared; the next message starts a new one");
            }
            "system" if arg.is_empty() => eprintln!(
                "system prompt: {}",
                chat.system_prompt().await.as_deref().unwrap_or("(none)")
            ),
            "system" => {
                chat.set_system_prompt(Some(arg.to_owned())).await;
                eprintln!("system prompt replaced");
            }
            "model" if arg.is_empty() => eprintln!("talking to {current}"),
            "model" => {
                let target = if arg == "remote" {
                    Target::Remote
                } else {
                    Target::Server(arg.to_owned())
                };
                let progress = crate::progress::ServerStart::default();
                let switched = chat.switch(target, |s, p| progress.phase(s, p)).await;
                progress.finish();
                match switched {
                    Ok(()) => {
                        supervisor = supervise(llf, chat).await;
                        current = chat.describe().await.unwrap_or_default();
                        eprintln!("now talking to {current}; the conversation is kept");
                    }
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            "save" if !arg.is_empty() => {
                let messages = chat.messages().await;
                let system = chat.system_prompt().await;
                match transcript::save(arg.as_ref(), system.as_deref(), &messages) {
                    Ok(()) => eprintln!("saved {} messages to {arg}", messages.len()),
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
            "load" if !arg.is_empty() => match transcript::load(arg.as_ref()) {
                Ok((system, messages)) => {
                    let n = messages.len();
                    chat.replace_messages(system, messages).await;
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
                if let Err(e) = slash::run(llf, chat, other, arg).await {
                    eprintln!("error: {e:#}");
                }
            }
        }
    }
    Ok(())
}

/// Restarts the chat's local server if it crashes.
async fn supervise(llf: &Llf, chat: &Chat) -> Option<Supervisor> {
    chat.server().await.map(|s| {
        Supervisor::start(
            Arc::clone(llf.runtime().servers()),
            s.name,
            RestartPolicy::default(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::Block;

    #[test]
    fn fences_typed_or_pasted_are_not_part_of_the_message() {
        assert_eq!(Block::of("hello"), Block::Line);
        assert_eq!(Block::of("say \"\"\" here"), Block::Line);
        assert_eq!(Block::of("\"\"\""), Block::Open(vec![]));
        assert_eq!(
            Block::of("\"\"\"\nline a\n\nline b\n\"\"\""),
            Block::Whole("line a\n\nline b".into())
        );
        assert_eq!(
            Block::of(" \"\"\" \nline a"),
            Block::Open(vec!["line a".into()])
        );
    }
}
