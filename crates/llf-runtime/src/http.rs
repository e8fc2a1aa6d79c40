//! The HTTP clients of the process, built once and shared (a `reqwest::Client` is a cheap handle
//! to one connection pool).
//!
//! Why two: a client that can verify TLS reads and parses every CA certificate of the system when
//! it is built — tens of milliseconds, paid again by every client built. A one-shot `llf chat`
//! used to build four before its first token. Local llama-servers speak plain HTTP on loopback and
//! need no certificates, so their client is built without any; the remote endpoint's client is
//! built, with the system's roots, only when a remote endpoint is used.

use std::sync::OnceLock;
use std::time::Duration;

/// How long connecting may take before a request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The client for local servers (plain HTTP on loopback): no CA certificates, no proxy.
pub(crate) fn local() -> reqwest::Client {
    static LOCAL: OnceLock<reqwest::Client> = OnceLock::new();
    LOCAL
        .get_or_init(|| local_builder().build().unwrap_or_default())
        .clone()
}

fn local_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        // No roots at all: nothing to read at start-up, and HTTPS fails closed.
        .tls_certs_only([])
        // A proxy from the environment must not see traffic to our own servers.
        .no_proxy()
}

/// The client for remote endpoints: the system's CA certificates, proxies from the environment.
pub(crate) fn remote() -> reqwest::Client {
    static REMOTE: OnceLock<reqwest::Client> = OnceLock::new();
    REMOTE
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// The client for `base_url`: [`local`] for plain HTTP to a loopback address, else [`remote`].
pub(crate) fn for_url(base_url: &str) -> reqwest::Client {
    if is_loopback_http(base_url) {
        local()
    } else {
        remote()
    }
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_http;

    #[test]
    fn the_local_client_builds_without_certificates() {
        let built = super::local_builder().build();
        assert!(built.is_ok(), "{built:?}");
    }

    #[test]
    fn only_plain_http_to_loopback_is_local() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://localhost:8080",
            "http://[::1]:9000/v1",
            "http://127.0.0.2",
        ] {
            assert!(is_loopback_http(url), "{url}");
        }
        for url in [
            "https://127.0.0.1:8000/v1",
            "http://127.0.0.1.example.com/v1",
            "http://10.0.0.1:8000",
            "https://api.openai.com/v1",
            "http://localhost.evil/v1",
        ] {
            assert!(!is_loopback_http(url), "{url}");
        }
    }
}
