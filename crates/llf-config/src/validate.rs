//! Checks that serde cannot express: ranges, cross-references, uniqueness. Every problem is
//! collected, so a user fixes them all in one pass.

use std::collections::HashSet;

use crate::Issue;
use crate::schema::Config;

struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn range_f(&mut self, path: &str, value: f64, lo: f64, hi: f64) {
        if !(lo..=hi).contains(&value) || value.is_nan() {
            self.fail(path, format!("expected {lo}..={hi}, got {value}"));
        }
    }

    fn at_least(&mut self, path: &str, value: u64, min: u64) {
        if value < min {
            self.fail(path, format!("expected at least {min}, got {value}"));
        }
    }

    fn non_empty(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(path, "expected a non-empty string");
        }
    }
}

/// Returns every semantic problem of `config` (empty when it is valid).
pub(crate) fn validate(config: &Config) -> Vec<Issue> {
    let mut c = Checker { issues: Vec::new() };

    let ep = &config.llm_endpoint;
    if !(ep.api_base_url.starts_with("http://") || ep.api_base_url.starts_with("https://")) {
        c.fail(
            "llm_endpoint.api_base_url",
            format!(
                "expected an http:// or https:// URL, got {:?}",
                ep.api_base_url
            ),
        );
    }
    c.non_empty("llm_endpoint.model_name", &ep.model_name);
    let hub = &config.models.hub_url;
    if !(hub.starts_with("http://") || hub.starts_with("https://")) {
        c.fail(
            "models.hub_url",
            format!("expected an http:// or https:// URL, got {hub:?}"),
        );
    }
    c.at_least("llm_endpoint.request_timeout", ep.request_timeout, 1);
    let api = &config.server_api;
    c.non_empty("server_api.host", &api.host);
    c.at_least("server_api.max_body_kb", api.max_body_kb, 1);
    c.at_least("server_api.request_timeout", api.request_timeout, 1);
    c.at_least("server_api.stream_idle_timeout", api.stream_idle_timeout, 1);
    for (i, origin) in api.cors_origins.iter().enumerate() {
        if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
            c.fail(
                format!("server_api.cors_origins[{i}]"),
                format!("expected `*` or an http:// or https:// origin, got {origin:?}"),
            );
        }
    }
    if let Some(default) = &ep.default_local_server
        && !config.local_llm_servers.iter().any(|s| &s.name == default)
    {
        let names: Vec<_> = config
            .local_llm_servers
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        c.fail(
            "llm_endpoint.default_local_server",
            format!("no server named {default:?} in local_llm_servers (have: {names:?})"),
        );
    }

    let mut names = HashSet::new();
    let mut endpoints = HashSet::new();
    for (i, s) in config.local_llm_servers.iter().enumerate() {
        let p = |k: &str| format!("local_llm_servers[{i}].{k}");
        c.non_empty(&p("name"), &s.name);
        if !names.insert(s.name.as_str()) {
            c.fail(p("name"), format!("duplicate server name {:?}", s.name));
        }
        c.non_empty(&p("host"), &s.host);
        if !endpoints.insert((s.host.as_str(), s.port)) {
            c.fail(
                p("port"),
                format!("{}:{} is already used by another server", s.host, s.port),
            );
        }
        if s.llama_server_path.as_os_str().is_empty() {
            c.fail(
                p("llama_server_path"),
                "expected a path to the llama-server executable",
            );
        }
        c.at_least(&p("startup_timeout"), s.startup_timeout, 1);
        if let Some(t) = s.threads {
            c.at_least(&p("threads"), t as u64, 1);
        }
        for (flag, value) in &s.server_params {
            if !flag.starts_with('-') {
                c.fail(
                    format!("{}.{flag}", p("server_params")),
                    "expected a flag such as \"--ctx-size\"",
                );
            }
            if value.is_object() || value.is_array() {
                c.fail(
                    format!("{}.{flag}", p("server_params")),
                    "expected a string, number, boolean or null",
                );
            }
        }
    }

    let ip = &config.inference_params;
    c.range_f("inference_params.temperature", ip.temperature, 0.0, 2.0);
    c.range_f("inference_params.top_p", ip.top_p, 0.0, 1.0);
    if let Some(m) = ip.max_tokens {
        c.at_least("inference_params.max_tokens", m.into(), 1);
    }

    let rag = &config.rag;
    c.at_least("rag.batch_size", rag.batch_size as u64, 1);
    c.at_least("rag.chunk_size", rag.chunk_size as u64, 16);
    if rag.chunk_overlap >= rag.chunk_size {
        c.fail(
            "rag.chunk_overlap",
            format!(
                "expected less than rag.chunk_size ({}), got {}",
                rag.chunk_size, rag.chunk_overlap
            ),
        );
    }
    c.at_least("rag.top_k", rag.top_k as u64, 1);
    c.range_f("rag.score_threshold", rag.score_threshold, -1.0, 1.0);
    c.range_f(
        "rag.cache.similarity_threshold",
        rag.cache.similarity_threshold,
        0.0,
        1.0,
    );
    if let Some(t) = rag.embedding_threads {
        c.at_least("rag.embedding_threads", t as u64, 1);
    }

    c.non_empty("memory.default_store", &config.memory.default_store);
    c.range_f("memory.min_score", config.memory.min_score, 0.0, 1.0);

    let q = &config.request_queue;
    c.at_least("request_queue.max_size", q.max_size as u64, 1);
    c.at_least("request_queue.max_concurrent", q.max_concurrent as u64, 1);
    if !(q.max_requests_per_second > 0.0 && q.max_requests_per_second.is_finite()) {
        c.fail(
            "request_queue.max_requests_per_second",
            format!(
                "expected a number above 0, got {}",
                q.max_requests_per_second
            ),
        );
    }
    if let Some(b) = q.burst_size {
        c.at_least("request_queue.burst_size", b.into(), 1);
    }

    let sb = &config.tool_sandbox;
    for (key, value) in [
        ("max_memory_mb", sb.max_memory_mb),
        ("max_cpu_time", sb.max_cpu_time),
        ("max_file_size_mb", sb.max_file_size_mb),
        ("timeout", sb.timeout),
        ("max_processes", sb.max_processes),
        ("max_open_files", sb.max_open_files),
        ("max_output_kb", sb.max_output_kb),
    ] {
        c.at_least(&format!("tool_sandbox.{key}"), value, 1);
    }
    let tools = &config.tools;
    c.at_least("tools.max_tool_rounds", tools.max_tool_rounds.into(), 1);
    c.at_least("tools.audit_max_kb", tools.audit_max_kb, 1);
    c.at_least("tools.audit_keep_files", tools.audit_keep_files.into(), 1);
    for (i, server) in tools.mcp_servers.iter().enumerate() {
        if server.command.trim().is_empty() {
            c.fail(
                format!("tools.mcp_servers[{i}].command"),
                "expected the program that starts the MCP server",
            );
        }
        c.at_least(
            &format!("tools.mcp_servers[{i}].timeout"),
            server.timeout,
            1,
        );
    }

    for (name, prof) in &config.multi_model.model_profiles {
        let p = |k: &str| format!("multi_model.model_profiles.{name}.{k}");
        for (k, v) in [
            ("complexity_score", prof.complexity_score),
            ("speed_score", prof.speed_score),
            ("cost_score", prof.cost_score),
            ("quality_score", prof.quality_score),
        ] {
            c.range_f(&p(k), v, 0.0, 10.0);
        }
        c.at_least(&p("context_window"), prof.context_window.into(), 1);
    }

    c.issues
}
