#!/usr/bin/env python3
"""One-shot chat latency, whole processes, side by side against one running llama-server.

Runs the same streamed request (system prompt + "Say hi in three words", temperature 0, at most
16 tokens) as: curl straight to llama-server (the baseline), `llf chat --no-save`, `llf chat`
(history and memory on), and aichat when it is installed. Prints medians and the ratio to curl.

    source ~/.cache/llf-dev/env.sh
    python3 benches/scripts/one-shot-latency.py [--runs 15] [--llf PATH]

Uses a temporary LLF home whose config points at the llama-server and model setup.sh installed;
the server is started once (by `llf server start`) and stopped at the end.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

SYSTEM = "You are a helpful assistant."
PROMPT = "Say hi in three words"

def timed(cmd, env, stdin=None):
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, input=stdin, capture_output=True)
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({out.returncode}): {out.stderr.decode()[-2000:]}")
    return elapsed

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--llf", default=os.path.join(target, "debug", "llf"))
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="llf-latency-")
    env = dict(os.environ, LLF_HOME=home, NO_COLOR="1")
    env.pop("LLF_CONFIG", None)
    llf = args.llf
    subprocess.run([llf, "-q", "config", "init", "--llama-server", os.environ["LLF_LLAMA_SERVER"],
                    "--model", os.environ["LLF_TEST_MODEL"]], env=env, check=True, capture_output=True)
    for key, value in [("prompt.system_prompt", SYSTEM), ("inference_params.temperature", "0"),
                       ("inference_params.max_tokens", "16")]:
        subprocess.run([llf, "-q", "config", "set", key, value], env=env, check=True)
    subprocess.run([llf, "-q", "server", "start"], env=env, check=True)
    try:
        cfg = json.load(open(os.path.join(home, "config.json")))
        server = cfg["local_llm_servers"][0]
        url = f"http://{server.get('host', '127.0.0.1')}:{server['port']}/v1/chat/completions"
        body = json.dumps({"model": "x", "stream": True, "temperature": 0, "max_tokens": 16,
                           "messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": PROMPT}]})
        sides = [("curl (straight to llama-server)",
                  ["curl", "-sN", url, "-H", "content-type: application/json", "-d", body])]
        sides.append(("llf chat --no-save", [llf, "chat", "--no-save", PROMPT]))
        sides.append(("llf chat (history + memory)", [llf, "chat", PROMPT]))
        if shutil.which("aichat"):
            sides.append(("aichat", ["aichat", PROMPT]))
        for _, cmd in sides:  # warm every path once (page cache, server slot)
            timed(cmd, env)
        results = {name: [] for name, _ in sides}
        for _ in range(args.runs):  # interleaved, so drift hits every side alike
            for name, cmd in sides:
                results[name].append(timed(cmd, env))
        base = statistics.median(results[sides[0][0]])
        print(f"{'client':40} {'median':>9} {'p90':>9} {'vs curl':>8}")
        for name, times in results.items():
            med = statistics.median(times)
            p90 = sorted(times)[int(0.9 * (len(times) - 1))]
            print(f"{name:40} {med*1000:7.1f}ms {p90*1000:7.1f}ms {med/base:8.2f}")
    finally:
        subprocess.run([llf, "-q", "server", "stop"], env=env)
        shutil.rmtree(home, ignore_errors=True)

if __name__ == "__main__":
    main()
