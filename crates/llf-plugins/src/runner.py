"""LLF's runner for Python-era plugins: loads a plugin directory (plugin.json + plugin.py with
PluginClass) unchanged and serves its hooks over LLF's JSON-lines protocol on stdin/stdout.

The plugin imports `llf.plugin_system` as it did in the Python version; this runner provides that
module. Whatever the plugin prints goes to stderr (LLF's log), never into the protocol."""
import copy
import importlib
import importlib.util
import json
import os
import sys
import types

PROTO = sys.stdout
sys.stdout = sys.stderr

SHIM = '''
from dataclasses import dataclass, field
from typing import Any, Dict, List


@dataclass
class PluginMetadata:
    name: str
    version: str
    description: str = ""
    author: str = ""
    dependencies: List[str] = field(default_factory=list)
    hooks: List[str] = field(default_factory=list)


class PluginHook:
    PRE_REQUEST = "pre_request"
    POST_REQUEST = "post_request"
    PRE_TOOL_EXECUTION = "pre_tool_execution"
    POST_TOOL_EXECUTION = "post_tool_execution"
    ON_MESSAGE = "on_message"
    ON_TOKEN = "on_token"
    ON_ERROR = "on_error"
    ON_STARTUP = "on_startup"
    ON_SHUTDOWN = "on_shutdown"


class Skip:
    """Return from a hook to answer without calling the model (or the tool)."""
    def __init__(self, value):
        self.value = value


class Stop:
    """Return from a hook to end the turn with an error."""
    def __init__(self, reason):
        self.reason = str(reason)


class Plugin:
    def __init__(self, config: Dict[str, Any]):
        self.config = config
        self.enabled = True

    def on_load(self): pass
    def on_unload(self): pass

    def get_metadata(self) -> PluginMetadata:
        raise NotImplementedError("Plugin must implement get_metadata()")

    def pre_request(self, messages, **kwargs): return messages
    def post_request(self, response, **kwargs): return response
    def pre_tool_execution(self, tool_name, arguments): return arguments
    def post_tool_execution(self, tool_name, result): return result
    def on_message(self, role, content): pass
    def on_token(self, token): return token
    def on_error(self, error): pass
    def on_startup(self): pass
    def on_shutdown(self): pass
'''

HOOKS = ["pre_request", "post_request", "pre_tool_execution", "post_tool_execution",
         "on_message", "on_token", "on_error", "on_startup", "on_shutdown"]


def send(obj):
    PROTO.write(json.dumps(obj) + "\n")
    PROTO.flush()


def install_shim():
    llf = types.ModuleType("llf")
    llf.__path__ = []
    system = types.ModuleType("llf.plugin_system")
    exec(SHIM, system.__dict__)
    llf.plugin_system = system
    sys.modules["llf"] = llf
    sys.modules["llf.plugin_system"] = system
    return system


def overridden(plugin, base):
    return [h for h in HOOKS
            if getattr(type(plugin), h, None) is not getattr(base, h, None)]


def load(plugin_dir, system):
    with open(os.path.join(plugin_dir, "plugin.json"), encoding="utf-8") as f:
        config = json.load(f)
    path = os.path.join(plugin_dir, "plugin.py")
    sys.path.insert(0, plugin_dir)
    spec = importlib.util.spec_from_file_location(config["name"], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = getattr(module, "PluginClass", None)
    if cls is None:
        raise RuntimeError(f"no PluginClass in {path}")
    plugin = cls(config)
    try:
        meta = plugin.get_metadata()
    except NotImplementedError:
        meta = None
    missing = []
    for dep in (getattr(meta, "dependencies", None) or []):
        try:
            importlib.import_module(dep)
        except ImportError:
            missing.append(dep)
    if missing:
        raise RuntimeError(f"missing dependencies: {', '.join(missing)}")
    hooks = list(getattr(meta, "hooks", None) or overridden(plugin, system.Plugin))
    plugin.on_load()
    return plugin, {
        "ready": True,
        "name": getattr(meta, "name", None) or config["name"],
        "version": getattr(meta, "version", None) or config.get("version", ""),
        "hooks": [h for h in hooks if h in HOOKS],
    }


def decide(system, result, original):
    if isinstance(result, system.Skip):
        return {"decision": "skip", "value": result.value}
    if isinstance(result, system.Stop):
        return {"decision": "stop", "reason": result.reason}
    if result is None or result == original:
        return {"decision": "continue"}
    return {"decision": "replace", "value": result}


def call(plugin, system, hook, args):
    if hook == "pre_request":
        original = copy.deepcopy(args["messages"])
        return decide(system, plugin.pre_request(args["messages"]), original)
    if hook == "post_request":
        original = args["response"]
        return decide(system, plugin.post_request(copy.deepcopy(original)), original)
    if hook == "pre_tool_execution":
        original = args["arguments"]
        result = plugin.pre_tool_execution(args["tool_name"], copy.deepcopy(original))
        return decide(system, result, original)
    if hook == "post_tool_execution":
        original = args["result"]
        result = plugin.post_tool_execution(args["tool_name"], copy.deepcopy(original))
        return decide(system, result, original)
    if hook == "on_message":
        return decide(system, plugin.on_message(args["role"], args["content"]), None)
    if hook == "on_token":
        return decide(system, plugin.on_token(args["token"]), args["token"])
    if hook == "on_error":
        plugin.on_error(RuntimeError(args["error"]))
    elif hook == "on_startup":
        plugin.on_startup()
    elif hook == "on_shutdown":
        plugin.on_shutdown()
    return {"decision": "continue"}


def main():
    system = install_shim()
    try:
        plugin, ready = load(sys.argv[1], system)
    except Exception as e:  # reported to LLF, which logs it and leaves the plugin out
        send({"ready": False, "error": f"{type(e).__name__}: {e}"})
        return 1
    send(ready)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = call(plugin, system, request["hook"], request.get("args") or {})
        except Exception as e:
            reply = {"error": f"{type(e).__name__}: {e}"}
        reply["id"] = request.get("id")
        send(reply)
    try:
        plugin.on_unload()
    except Exception as e:
        print(f"on_unload failed: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
