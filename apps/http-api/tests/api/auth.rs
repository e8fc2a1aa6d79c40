//! API keys (hash-only storage, scopes per route, revocation), CORS, and the bind policy.

use axum::http::{Request, StatusCode};
use llf::api_keys::Scope;
use llf_http_api::{RefusedBind, ServeOptions, Server};
use llf_testkit::{FakeServer, Reply as FakeReply, configs};
use serde_json::json;

use crate::{Home, get, post, send, with_key};

fn chat() -> serde_json::Value {
    json!({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_stored_as_hashes_and_enforce_scopes_per_route() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["ok"])]).await;
    let home = Home::new(configs::with(
        configs::remote(&fake.base_url()),
        json!({"memory": {"enabled": false}}),
    ));
    let app = home.app();
    // No key yet: open (the server then binds loopback only).
    assert_eq!(send(&app, get("/v1/models")).await.status, StatusCode::OK);

    let keys = home.llf.api_keys();
    let (reader, read_secret) = keys.create("dashboard", &[Scope::Read]).unwrap();
    let (_, chat_secret) = keys.create("agent", &[Scope::Chat]).unwrap();
    let (_, admin_secret) = keys.create("ops", &[Scope::Admin]).unwrap();
    assert!(read_secret.starts_with("llf-") && read_secret.len() > 60);
    let stored = std::fs::read_to_string(home.llf.locations().api_keys()).unwrap();
    for secret in [&read_secret, &chat_secret, &admin_secret] {
        assert!(
            !stored.contains(secret.as_str()),
            "a key is stored in clear"
        );
    }
    assert!(stored.contains("sha256"));
    assert!(matches!(
        keys.create("agent", &[Scope::Read]),
        Err(llf::api_keys::ApiKeyError::DuplicateName(_))
    ));

    let e = send(&app, get("/v1/models"))
        .await
        .error(StatusCode::UNAUTHORIZED);
    assert_eq!(e["code"], "invalid_api_key");
    send(&app, with_key(get("/v1/models"), "llf-wrong"))
        .await
        .error(StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&app, with_key(get("/v1/models"), &read_secret))
            .await
            .status,
        StatusCode::OK
    );
    let e = send(
        &app,
        with_key(post("/v1/chat/completions", &chat()), &read_secret),
    )
    .await
    .error(StatusCode::FORBIDDEN);
    assert_eq!(e["code"], "insufficient_scope");
    send(&app, with_key(get("/metrics"), &chat_secret))
        .await
        .error(StatusCode::FORBIDDEN);
    let r = send(
        &app,
        with_key(post("/v1/chat/completions", &chat()), &chat_secret),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        send(&app, with_key(get("/metrics"), &admin_secret))
            .await
            .status,
        StatusCode::OK
    );
    // Probes stay open.
    assert_eq!(send(&app, get("/healthz")).await.status, StatusCode::OK);

    // Revoked: refused at once.
    keys.revoke(&reader.id).unwrap();
    send(&app, with_key(get("/v1/models"), &read_secret))
        .await
        .error(StatusCode::UNAUTHORIZED);
    assert_eq!(keys.list().unwrap().len(), 2);
    assert!(keys.revoke("dashboard").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_closed_unless_an_origin_is_configured() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["ok"])]).await;
    let preflight = || {
        Request::options("/v1/chat/completions")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "POST")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let closed = Home::new(configs::remote(&fake.base_url()));
    let r = send(&closed.app(), preflight()).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());

    let open = Home::new(configs::with(
        configs::remote(&fake.base_url()),
        json!({"server_api": {"cors_origins": ["https://app.example"]}}),
    ));
    let r = send(&open.app(), preflight()).await;
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let other = Request::get("/v1/models")
        .header("origin", "https://evil.example")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = send(&open.app(), other).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_address_is_refused_until_a_key_exists() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["ok"])]).await;
    let home = Home::new(configs::remote(&fake.base_url()));
    let public = ServeOptions {
        host: Some("0.0.0.0".into()),
        port: Some(0),
    };
    let err = Server::start(home.llf.clone(), public.clone())
        .await
        .unwrap_err();
    let refused = err.downcast_ref::<RefusedBind>().expect("a refused bind");
    assert_eq!(refused.addr.to_string(), "0.0.0.0");
    assert!(err.to_string().contains("llf serve keys create"));

    // Loopback is fine without keys, and binds port 0 to a free port.
    let local = Server::start(
        home.llf.clone(),
        ServeOptions {
            host: None,
            port: Some(0),
        },
    )
    .await
    .unwrap();
    assert!(local.addr().ip().is_loopback());
    assert_ne!(local.addr().port(), 0);
    let body = reqwest::get(format!("http://{}/healthz", local.addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("ok"));
    local.shutdown().await.unwrap();

    // With a key, the public address is accepted (and requests need the key).
    let (_, secret) = home
        .llf
        .api_keys()
        .create("remote", &[Scope::Read])
        .unwrap();
    let server = Server::start(home.llf.clone(), public).await.unwrap();
    let url = format!("http://127.0.0.1:{}/v1/models", server.addr().port());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        client
            .get(&url)
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.shutdown().await.unwrap();
}
