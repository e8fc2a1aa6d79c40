#!/usr/bin/env bash
# Sets up every real component (scripts/setup.sh, idempotent and cached outside the repo) and runs
# all of LLF's checks: format, lints, build of every target and example, tests (unit, integration,
# doc), docs, and cargo-deny. This is the command .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck source=/dev/null
source "${LLF_DEV_CACHE:-$HOME/.cache/llf-dev}/env.sh"

step() { printf '\n\033[1;34m[test]\033[0m %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "cargo build (every crate, app, example, bench and test)"
cargo build --workspace --all-targets --locked

step "cargo test"
cargo test --workspace --locked --no-fail-fast

step "examples/embed-chat against the real model (the llf facade end to end)"
cargo run --quiet --locked -p example-embed-chat

step "examples/plugin-basics against the real model (Python-era plugins in the sandbox)"
cargo run --quiet --locked -p example-plugin-basics

step "cargo deny (bans, licenses, sources)"
cargo fetch --locked --quiet
cargo deny --offline check bans licenses sources

step "all checks passed"
