//! Command-line grammar. Help texts are written for someone who has never used LLF.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// LLF — run local language models and talk to them.
///
/// Configuration lives in config.json (see `llf config path`); `llf config init` writes one that
/// points at the llama-server and model installed by scripts/setup.sh.
#[derive(Debug, Parser)]
#[command(name = "llf", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    /// Use this config file instead of the default (also: LLF_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Log everything LLF does at debug level, to stderr and to a timestamped file in the logs dir.
    #[arg(long, global = true)]
    pub(crate) debug: bool,

    /// More output (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,

    /// Less output: only errors.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) quiet: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Talk to a model: `llf chat` for a session, `llf chat "question"` for one answer.
    ///
    /// Starts the default local llama-server when it is not running. Piped stdin is sent as the
    /// message, or after the words given (`git diff | llf chat "Review this change"`).
    Chat(crate::commands::chat::ChatArgs),
    /// Run the HTTP API: OpenAI-compatible /v1 for any OpenAI client (`llf serve --port 8090`);
    /// `llf serve keys create NAME` makes an API key.
    Serve(crate::commands::serve::ServeArgs),
    /// Start, stop and inspect local llama-server instances.
    #[command(subcommand)]
    Server(crate::commands::server::ServerCmd),
    /// List, inspect, download and delete models; `auto-setup` guides a first setup.
    #[command(subcommand)]
    Model(crate::commands::model::ModelCmd),
    /// Per-request performance figures: time to first token, tokens/s.
    #[command(subcommand)]
    Performance(crate::commands::performance::PerformanceCmd),
    /// Saved conversations: list, show, resume, search, branch, export and import.
    #[command(subcommand)]
    Conversation(crate::commands::conversation::ConversationCmd),
    /// Prompt templates with {variables}: the built-ins and your own.
    #[command(subcommand)]
    Template(crate::commands::template::TemplateCmd),
    /// Long-term memory: stores of facts that chats draw on (add, search, export, migrate…).
    #[command(subcommand)]
    Memory(crate::commands::memory::MemoryCmd),
    /// RAG data stores: documents chats can draw on (create, add, query, attach, import…).
    #[command(subcommand)]
    Datastore(crate::commands::datastore::DatastoreCmd),
    /// Tools the model can call: list, inspect, enable, run and test them.
    #[command(subcommand)]
    Tool(crate::commands::tool::ToolCmd),
    /// Usage analytics: `llf analytics report [--days N] [--model M] [--json]`.
    #[command(subcommand)]
    Analytics(crate::commands::analytics::AnalyticsCmd),
    /// Plugins that run around each chat turn: list, inspect, install, enable, disable, remove.
    #[command(subcommand)]
    Plugin(crate::commands::plugin::PluginCmd),
    /// The tool audit log: recent events (`llf audit -n 50 --type tool_execution`) and `llf audit verify`.
    Audit(crate::commands::audit::AuditArgs),
    /// Developer helpers, e.g. `llf dev create-tool NAME` to scaffold a new tool.
    #[command(subcommand)]
    Dev(crate::commands::dev::DevCmd),
    /// Create, inspect and edit the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// List, restore or permanently remove deleted items.
    #[command(subcommand)]
    Trash(TrashCmd),
    /// Print a shell completion script, e.g. `llf completions bash > ~/.local/share/bash-completion/completions/llf`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCmd {
    /// Write a new config.json with defaults, pointing at the installed components given here (or
    /// exported by scripts/setup.sh's env.sh). The default server gets port 8000, or a free port
    /// when something already listens there.
    Init {
        /// Replace an existing file (it is kept as config.json.bak).
        #[arg(long)]
        force: bool,
        /// The llama-server executable (default: $LLF_LLAMA_SERVER, else `llama-server` on PATH).
        #[arg(long, value_name = "PATH")]
        llama_server: Option<PathBuf>,
        /// The GGUF model the default server loads (default: $LLF_TEST_MODEL).
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        /// libonnxruntime.so for retrieval (default: $ORT_DYLIB_PATH).
        #[arg(long, value_name = "PATH")]
        onnxruntime: Option<PathBuf>,
        /// The ONNX embedding model directory for retrieval (default: $LLF_EMBED_MODEL_DIR).
        #[arg(long, value_name = "DIR")]
        embed_model: Option<PathBuf>,
    },
    /// Print the effective configuration as JSON, secrets shown as ***.
    Show,
    /// Print where the config file is; with --all, every directory LLF uses.
    Path {
        /// Also list the data, cache, log and trash directories.
        #[arg(long)]
        all: bool,
    },
    /// Print the JSON Schema of config.json (every key, type, default and description), for
    /// editors that validate the file: `llf config schema > config.schema.json`. The same schema
    /// renders docs/CONFIG.md.
    Schema,
    /// Check a config file and report every problem with its key.
    Validate {
        /// The file to check (default: the active config).
        file: Option<PathBuf>,
    },
    /// Print one value, e.g. `llf config get local_llm_servers[0].port`.
    Get {
        /// Dotted key path.
        key: String,
    },
    /// Change one value and save atomically, e.g. `llf config set inference_params.temperature 0.2`.
    ///
    /// VALUE is read as JSON when it parses (8080, true, ["a","b"]) and as text otherwise.
    Set {
        /// Dotted key path.
        key: String,
        /// New value.
        value: String,
    },
    /// Encrypt the secrets in config.json (API keys, tokens, passwords, MCP servers' env).
    ///
    /// The key is kept in the OS keyring (Secret Service) when there is one; otherwise it is
    /// derived from a passphrase (asked twice, or LLF_PASSPHRASE) with a salt kept in
    /// config.json.salt. LLF then decrypts them in memory only; `config set` encrypts new ones.
    Encrypt {
        /// Use a passphrase even when an OS keyring is available.
        #[arg(long)]
        passphrase: bool,
    },
    /// Write the encrypted secrets back in plain text and remove config.json.salt.
    Decrypt,
    /// Re-encrypt every secret under a new key (a new passphrase: asked, or LLF_NEW_PASSPHRASE).
    ///
    /// The rewrite is atomic: a crash leaves the old file with its key or the new one with its.
    RotateKey {
        /// Use a passphrase even when an OS keyring is available.
        #[arg(long)]
        passphrase: bool,
    },
    /// Show which secrets are encrypted, with which key, and which are still in plain text (no
    /// passphrase needed).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-encrypt the values the Python version encrypted (its password: LLF_PASSPHRASE or asked).
    MigrateSecrets {
        /// Use a passphrase even when an OS keyring is available.
        #[arg(long)]
        passphrase: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrashCmd {
    /// List deleted items (items older than the retention period are purged first).
    List(TrashListArgs),
    /// Put items back where they were; refuses when something else now lives there.
    Restore {
        /// Ids from `llf trash list`.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Remove items for good: everything, or one type.
    Empty {
        /// Only items of this type (model, memory, datastore, conversation, template, tool, file).
        #[arg(long = "type", value_name = "TYPE")]
        item_type: Option<String>,
        /// Do not ask for confirmation (required when not on a terminal).
        #[arg(short, long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct TrashListArgs {
    /// Only items of this type (model, memory, datastore, conversation, template, tool, file).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) item_type: Option<String>,
    /// Only items whose name contains this text.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}
