#!/usr/bin/env bash
# Sets up a fresh machine with what chatting needs (scripts/setup.sh chat), builds `llf`, writes a
# config pointing at the installed llama-server and model if there is none yet, and starts a
# streaming chat with the default local model (llf starts llama-server itself).
# Extra arguments are passed to `llf chat` (a prompt for one answer; none for a session).
#
# `llf` is built with the dev profile into the same target directory as scripts/test.sh: the
# model runs in llama-server (built optimised by setup.sh), so an optimised `llf` would not answer
# faster, and the test command reuses this build instead of compiling everything a second time.
# For an optimised binary: cargo build --release -p llf-cli.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[run]\033[0m %s\n' "$*" >&2; }

bash scripts/setup.sh chat >&2
# shellcheck source=/dev/null
source "${LLF_DEV_CACHE:-$HOME/.cache/llf-dev}/env.sh"

LLF="$CARGO_TARGET_DIR/debug/llf"
if [ ! -x "$LLF" ]; then
  say "building llf (the first time: about 5 minutes on 2 cores, FAISS's C++ included)"
fi
started=$SECONDS
cargo build --locked -p llf-cli
say "llf ready after $((SECONDS - started)) s"

if [ ! -f "$("$LLF" -q config path)" ]; then
  "$LLF" config init --llama-server "$LLF_LLAMA_SERVER" --model "$LLF_TEST_MODEL" --onnxruntime "$ORT_DYLIB_PATH" --embed-model "$LLF_EMBED_MODEL_DIR"
fi
exec "$LLF" chat "$@"
