//! `llf-http-api [--config PATH] [--host H] [--port P]`: the HTTP API on its own (`llf serve`
//! runs the same server).

// A server prints where it listens.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use llf_http_api::ServeOptions;

fn usage() -> ExitCode {
    eprintln!("usage: llf-http-api [--config PATH] [--host HOST] [--port PORT]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = None;
    let mut options = ServeOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--config", Some(v)) => config = Some(std::path::PathBuf::from(v)),
            ("--host", Some(v)) => options.host = Some(v),
            ("--port", Some(v)) => match v.parse() {
                Ok(p) => options.port = Some(p),
                Err(_) => return usage(),
            },
            _ => return usage(),
        }
    }
    let llf = match llf::Llf::open(config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(78);
        }
    };
    let result = llf_http_api::serve(llf, options, |addr| {
        eprintln!("LLF HTTP API on http://{addr}/v1");
    })
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
