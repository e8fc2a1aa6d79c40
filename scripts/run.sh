#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh), builds `llf`, writes a config pointing at the
# installed llama-server and model if there is none yet, and starts a streaming chat with the
# default local model (llf starts llama-server itself).
# Extra arguments are passed to `llf chat` (a prompt for one answer; none for a session).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# shellcheck source=/dev/null
source "${LLF_DEV_CACHE:-$HOME/.cache/llf-dev}/env.sh"

cargo build --release --locked -p llf-cli
LLF="$CARGO_TARGET_DIR/release/llf"

if [ ! -f "$("$LLF" -q config path)" ]; then
  "$LLF" config init --llama-server "$LLF_LLAMA_SERVER" --model "$LLF_TEST_MODEL" --onnxruntime "$ORT_DYLIB_PATH" --embed-model "$LLF_EMBED_MODEL_DIR"
fi
exec "$LLF" chat "$@"
