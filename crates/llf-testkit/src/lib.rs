//! Test support for LLF's crates and apps.
//!
//! [`FakeServer`] is a scripted OpenAI-compatible HTTP server on `127.0.0.1`: each request is
//! answered by a closure that returns a [`Reply`] (JSON, a server-sent-event stream, an HTTP
//! error, a hang, or raw bytes). It covers what a real small model cannot do on demand — exact tool
//! calls, errors, timeouts, malformed streams — and is used in addition to the real
//! `llama-server`, never instead of it.
//!
//! [`components`] locates the real components `scripts/setup.sh` installed; [`configs`] builds
//! `config.json` values that use them (or a fake endpoint); [`errors`] checks error chains as the
//! CLI prints them.
#![allow(clippy::expect_used)] // test support: a broken fixture should fail the test loudly

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub mod components;
pub mod configs;
pub mod errors;

/// A request the fake server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path including query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Recorded {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with a status code.
    Json(u16, Value),
    /// A `text/event-stream` body: each string is one `data:` payload, sent with `delay` before it.
    Sse {
        /// The `data:` payloads, in order (include `"[DONE]"` yourself if wanted).
        events: Vec<String>,
        /// Pause before each event.
        delay: Duration,
    },
    /// Accept the request and never answer.
    Hang,
    /// Raw bytes written after the status line and headers of a 200 response.
    Raw(Vec<u8>),
    /// A response with any status, extra headers and body; with `cut_after`, the connection
    /// closes after that many body bytes although `content-length` promised all of them (an
    /// interrupted download).
    Bytes {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
        /// Stop sending after this many bytes.
        cut_after: Option<usize>,
    },
}

impl Reply {
    /// An OpenAI streaming answer that sends `pieces` as content deltas, then a finish chunk, a
    /// usage chunk and `[DONE]`.
    pub fn stream_text(pieces: &[&str]) -> Self {
        let mut events: Vec<String> = pieces
            .iter()
            .map(|p| chunk(json!({"content": p}), Value::Null).to_string())
            .collect();
        events.push(chunk(json!({}), json!("stop")).to_string());
        events.push(
            json!({"id": "fake", "object": "chat.completion.chunk", "choices": [],
                   "usage": {"prompt_tokens": 7, "completion_tokens": pieces.len(), "total_tokens": 7 + pieces.len()}})
            .to_string(),
        );
        events.push("[DONE]".to_owned());
        Reply::Sse {
            events,
            delay: Duration::ZERO,
        }
    }

    /// An OpenAI non-streaming answer with `content`.
    pub fn completion(content: &str) -> Self {
        Reply::Json(
            200,
            json!({"id": "fake", "object": "chat.completion", "model": "fake-model",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content}}],
                   "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}),
        )
    }

    /// An OpenAI non-streaming answer that calls tools: `(id, name, arguments JSON text)`.
    pub fn tool_calls(calls: &[(&str, &str, &str)]) -> Self {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
            .collect();
        Reply::Json(
            200,
            json!({"id": "fake", "object": "chat.completion", "model": "fake-model",
                   "choices": [{"index": 0, "finish_reason": "tool_calls",
                                "message": {"role": "assistant", "content": null, "tool_calls": calls}}],
                   "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}),
        )
    }

    /// An OpenAI streaming answer that calls tools: `(id, name, arguments JSON text)`.
    pub fn stream_tool_calls(calls: &[(&str, &str, &str)]) -> Self {
        let mut events: Vec<String> = calls
            .iter()
            .enumerate()
            .map(|(i, (id, name, args))| {
                chunk(
                    json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                                             "function": {"name": name, "arguments": args}}]}),
                    Value::Null,
                )
                .to_string()
            })
            .collect();
        events.push(chunk(json!({}), json!("tool_calls")).to_string());
        events.push("[DONE]".to_owned());
        Reply::Sse {
            events,
            delay: Duration::ZERO,
        }
    }

    /// An OpenAI-style error body with `status`.
    pub fn error(status: u16, message: &str) -> Self {
        Reply::Json(
            status,
            json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}}),
        )
    }
}

/// One streaming chunk with a delta and a finish reason.
pub fn chunk(delta: Value, finish_reason: Value) -> Value {
    json!({"id": "fake", "object": "chat.completion.chunk", "model": "fake-model",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A scripted HTTP server on `127.0.0.1:<random port>`, stopped when dropped.
pub struct FakeServer {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts a server whose answers come from `handler(request, index)`, where `index` counts the
    /// requests received so far (0 for the first).
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let handler = handler.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, handler, recorded).await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    /// Starts a server that answers requests with `replies` in order, repeating the last one.
    pub async fn scripted(replies: Vec<Reply>) -> Self {
        Self::start(move |_, i| {
            replies
                .get(i)
                .or(replies.last())
                .cloned()
                .unwrap_or(Reply::Hang)
        })
        .await
    }

    /// Starts a server that streams `"{prefix} {n}"` as the answer to the `n`-th request (from
    /// 0), so a test can tell which answer came from which request.
    pub async fn numbered(prefix: &'static str) -> Self {
        Self::start(move |_, i| Reply::stream_text(&[&format!("{prefix} {i}")])).await
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: TcpStream,
    handler: Arc<Handler>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = serde_json::from_slice(&buf[header_end..]).unwrap_or(Value::Null);
    let request = Recorded {
        method,
        path,
        headers,
        body,
    };
    let index = {
        let mut r = recorded
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        r.push(request.clone());
        r.len() - 1
    };
    match handler(&request, index) {
        Reply::Json(status, value) => {
            let body = value.to_string();
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Sse { events, delay } => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
                .await?;
            for e in events {
                tokio::time::sleep(delay).await;
                socket
                    .write_all(format!("data: {e}\n\n").as_bytes())
                    .await?;
                socket.flush().await?;
            }
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Bytes {
            status,
            headers,
            body,
            cut_after,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            let end = cut_after.unwrap_or(body.len()).min(body.len());
            socket.write_all(&body[..end]).await?;
            socket.flush().await?;
        }
        Reply::Raw(bytes) => {
            socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n").await?;
            socket.write_all(&bytes).await?;
        }
    }
    socket.shutdown().await
}
