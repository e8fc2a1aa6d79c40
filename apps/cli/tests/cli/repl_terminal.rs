//! The REPL on a real terminal (a pseudo-terminal): lines typed ahead or pasted at once all
//! arrive, keys typed while an answer streams are not echoed into it, and `"""` fences in a
//! bracketed paste do not reach the model.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llf_testkit::{FakeServer, Reply, chunk};
use serde_json::json;

use crate::Sandbox;

/// `llf chat -i` with stdin, stdout and stderr on a pseudo-terminal; what it prints is collected.
struct Terminal {
    child: Child,
    master: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(sb: &Sandbox) -> Self {
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave: OwnedFd = pty.slave;
        let child = sb
            .std_llf()
            .args(["chat", "-i"])
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let mut reader = master.try_clone().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once the child has exited and the slave is closed.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            child,
            master,
            screen,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "waited for {what:?}; the screen shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    fn exit(mut self) {
        self.type_keys("/exit\r");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}; screen:\n{}", self.text());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "llf did not exit:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_requests(fake: &FakeServer, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reqs = fake.requests();
        if reqs.len() >= n {
            return reqs
                .iter()
                .map(|r| {
                    let msgs = r.body["messages"].as_array().unwrap();
                    msgs.last().unwrap()["content"].as_str().unwrap().to_owned()
                })
                .collect();
        }
        assert!(Instant::now() < deadline, "{} requests of {n}", reqs.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn typed_ahead_lines_arrive_and_are_not_echoed_into_the_answer() {
    let rt = crate::tokio_rt();
    let slow: Vec<String> = (0..20)
        .map(|i| {
            chunk(
                json!({"content": format!("w{i} ")}),
                serde_json::Value::Null,
            )
            .to_string()
        })
        .chain([
            chunk(json!({}), json!("stop")).to_string(),
            "[DONE]".to_owned(),
        ])
        .collect();
    let fake = rt.block_on(FakeServer::start(move |_, i| {
        if i == 0 {
            Reply::Sse {
                events: slow.clone(),
                delay: Duration::from_millis(60),
            }
        } else {
            Reply::stream_text(&["fine"])
        }
    }));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let mut term = Terminal::start(&sb);
    term.wait_for("chatting with");
    term.type_keys("tell me a story\r");
    term.wait_for("w2 ");
    // Typed while the answer streams: two whole lines at once.
    term.type_keys("second question\rthird question\r");
    let sent = wait_for_requests(&fake, 3);
    assert_eq!(
        sent,
        ["tell me a story", "second question", "third question"]
    );
    term.wait_for("fine");
    let screen = term.text();
    let answer_end = screen.find("w19 ").expect("the whole answer was shown");
    let typed = screen
        .find("second question")
        .expect("the line was shown at its prompt");
    assert!(
        typed > answer_end,
        "the typed keys were echoed into the answer:\n{screen}"
    );
    term.exit();
}

#[test]
fn pastes_with_and_without_bracketed_paste_keep_every_line() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let mut term = Terminal::start(&sb);
    term.wait_for("chatting with");
    // A terminal without bracketed paste delivers a paste as typed lines, all at once.
    term.type_keys("alpha\rbeta\r");
    let sent = wait_for_requests(&fake, 2);
    assert_eq!(sent, ["alpha", "beta"]);
    // A bracketed paste of a fenced block: one message, without the fences.
    term.type_keys("\x1b[200~\"\"\"\rline a\rline b\r\"\"\"\x1b[201~\r");
    let sent = wait_for_requests(&fake, 3);
    assert_eq!(sent[2], "line a\nline b");
    term.exit();
}
