"""LLF's runner for Python-era tools: loads execute.py, calls execute(params), prints one JSON object.

Usage: python3 llf_runner.py /path/to/execute.py  (arguments as JSON on stdin)
"""
import importlib.util
import json
import os
import sys
import traceback


def main():
    path = sys.argv[1]
    raw = sys.stdin.read()
    real_stdout = sys.stdout
    # Anything the tool prints goes to the log, so stdout carries only the result object.
    sys.stdout = sys.stderr
    try:
        params = json.loads(raw) if raw.strip() else {}
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        spec = importlib.util.spec_from_file_location("llf_tool", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.execute(params)
        if isinstance(result, dict) and "success" in result:
            out = result
        else:
            out = {"success": True, "result": result}
    except BaseException as e:  # noqa: BLE001 - every failure becomes a readable result
        traceback.print_exc()
        out = {"success": False, "error": f"{type(e).__name__}: {e}"}
    finally:
        sys.stdout = real_stdout
    real_stdout.write(json.dumps(out, default=str))
    real_stdout.flush()


if __name__ == "__main__":
    main()
