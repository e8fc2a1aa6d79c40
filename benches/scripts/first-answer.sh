#!/usr/bin/env bash
# Time to the first answer on a fresh machine: clones this repository into a temporary directory,
# points setup at an empty cache and runs the README's first command (scripts/run.sh) with a
# prompt, printing the time of each phase. Needs the network for the registries (PyPI, crates.io,
# Debian) like a newcomer's machine; Debian packages already installed stay installed.
#
#   benches/scripts/first-answer.sh            # cold: empty cache, empty target dir
#   benches/scripts/first-answer.sh --warm     # again, with the cache of the cold run
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${FIRST_ANSWER_DIR:-/tmp/llf-first-answer}"
if [ "${1:-}" != --warm ]; then rm -rf "$work"; fi
mkdir -p "$work"
[ -d "$work/clone" ] || git clone -q "$repo" "$work/clone"
export LLF_DEV_CACHE="$work/cache" LLF_HOME="$work/home" CARGO_TARGET_DIR="$work/cache/target"
unset LLF_CONFIG

start=$(date +%s.%N)
"$work/clone/scripts/run.sh" "Say hi in three words." 2>"$work/run.stderr" | tee "$work/answer.txt"
end=$(date +%s.%N)

echo "--- phases (from the scripts' own reports)"
grep -E "took|ready" "$work/run.stderr" | sed 's/\x1b\[[0-9;]*m//g'
python3 -c "print(f\"first answer after {$end - $start:.1f} s (${1:-cold})\")"
