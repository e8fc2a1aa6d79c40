//! `llf serve`: the HTTP API (apps/http-api) in the foreground; `llf serve keys …` manages its
//! API keys.

use clap::{Args, Subcommand};
use llf::api_keys::Scope;

use crate::Context;
use crate::output;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default: server_api.host, 127.0.0.1). Any other address than
    /// loopback needs an API key to exist first.
    #[arg(long)]
    host: Option<String>,
    /// Port (default: server_api.port, 8090; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    #[command(subcommand)]
    cmd: Option<ServeCmd>,
}

#[derive(Debug, Subcommand)]
enum ServeCmd {
    /// API keys: once one exists, every request needs `Authorization: Bearer KEY`.
    #[command(subcommand)]
    Keys(KeysCmd),
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Create a key and print it once (only its hash is stored).
    Create {
        /// A name to recognise it by.
        name: String,
        /// What it may do: read (models, conversations, metrics), chat (completions,
        /// embeddings), admin (everything). Repeat for several; default: read and chat.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// List the keys (names, scopes, prefixes; never the keys).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id or name; it stops working at once.
    Revoke {
        /// Id or name from `llf serve keys list`.
        key: String,
    },
}

pub(crate) async fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let llf = ctx.llf()?;
    match args.cmd {
        None => {
            let options = llf_http_api::ServeOptions {
                host: args.host,
                port: args.port,
            };
            llf_http_api::serve(llf.clone(), options, |addr| {
                eprintln!("LLF HTTP API listening on http://{addr}/v1 (Ctrl-C stops it)");
            })
            .await
        }
        Some(ServeCmd::Keys(cmd)) => keys(llf, cmd),
    }
}

fn keys(llf: &llf::Llf, cmd: KeysCmd) -> anyhow::Result<()> {
    let store = llf.api_keys();
    match cmd {
        KeysCmd::Create { name, scopes } => {
            let scopes: Vec<Scope> = if scopes.is_empty() {
                vec![Scope::Read, Scope::Chat]
            } else {
                scopes
                    .iter()
                    .map(|s| Scope::parse(s))
                    .collect::<Result<_, _>>()?
            };
            let (key, secret) = store.create(&name, &scopes)?;
            output::line(&secret)?;
            eprintln!(
                "created API key `{}` (id {}, scopes {}); it is shown only now, store it safely",
                key.name,
                key.id,
                scope_list(&key.scopes)
            );
        }
        KeysCmd::List { json } => {
            let keys = store.list()?;
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({"id": k.id, "name": k.name, "scopes": k.scopes,
                                                "prefix": k.prefix, "created_at": k.created_at})
                    })
                    .collect();
                output::json(&serde_json::Value::Array(v))?;
            } else if keys.is_empty() {
                eprintln!("no API keys: the API is open on loopback only");
            } else {
                for k in keys {
                    output::line(format!(
                        "{}  {:<20} {:<16} {}…  {}",
                        k.id,
                        k.name,
                        scope_list(&k.scopes),
                        k.prefix,
                        k.created_at.format("%Y-%m-%d %H:%M")
                    ))?;
                }
            }
        }
        KeysCmd::Revoke { key } => {
            let k = store.revoke(&key)?;
            eprintln!("revoked API key `{}` ({})", k.name, k.id);
        }
    }
    Ok(())
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
