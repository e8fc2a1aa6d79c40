//! The HTTP API: every route through `app(state)` and `oneshot` (the scripted fake endpoint as
//! the model where exact tool calls and errors are needed, the real MiniLM for embeddings), and a
//! live server on 127.0.0.1:0 with the real llama-server and SmolLM2, driven by the official
//! `openai` Python package and by `async-openai`, unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // test code

mod auth;
mod live;
mod routes;

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use llf::Llf;
use llf::config::{ConfigFile, Environment};
use llf_http_api::{AppState, app};
use llf_testkit::components::TestHome;
use serde_json::{Value, json};
use tower::ServiceExt;

/// An LLF home in a temp dir with this config.
pub(crate) struct Home {
    pub(crate) dir: TestHome,
    pub(crate) llf: Llf,
}

impl Home {
    pub(crate) fn new(config: Value) -> Self {
        let dir = TestHome::new();
        let file = ConfigFile::from_value(
            dir.path().join("config.json"),
            config,
            true,
            &Environment::with_home(dir.path()),
        )
        .unwrap();
        Self {
            llf: Llf::new(file),
            dir,
        }
    }

    pub(crate) fn app(&self) -> Router {
        app(AppState::new(self.llf.clone()))
    }
}

fn dev_cache() -> PathBuf {
    std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/llf-dev"))
}

/// `rag` settings for the real MiniLM and onnxruntime installed by scripts/setup.sh.
pub(crate) fn embedding_config() -> Value {
    let model = std::env::var_os("LLF_EMBED_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dev_cache().join("embed/all-MiniLM-L6-v2"));
    assert!(model.join("model.onnx").is_file(), "run scripts/setup.sh");
    let ort = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::fs::read_dir(dev_cache().join("onnxruntime"))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.to_string_lossy().contains("libonnxruntime.so"))
                .expect("libonnxruntime.so missing: run scripts/setup.sh")
        });
    json!({"rag": {"embedding_model_dir": model, "onnxruntime_path": ort}})
}

/// A response: status, headers, body bytes.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data:` payloads of a server-sent-event body.
    pub(crate) fn sse(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
            .map(|d| d.trim().to_owned())
            .collect()
    }

    /// Asserts an OpenAI error envelope with this status; returns its `error` object.
    pub(crate) fn error(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        let e = v["error"].clone();
        assert!(e["message"].is_string(), "{v}");
        assert!(e["type"].is_string(), "{v}");
        assert!(e.get("param").is_some() && e.get("code").is_some(), "{v}");
        e
    }
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn post(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

pub(crate) fn with_key(mut req: Request<Body>, key: &str) -> Request<Body> {
    req.headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    req
}
