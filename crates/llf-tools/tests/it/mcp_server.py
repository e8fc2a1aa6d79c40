"""A minimal Model Context Protocol server over stdio (JSON-RPC, one message per line), for tests.

Tools: reverse(text) -> the text reversed; shout(text) -> structured {"upper": TEXT};
fail() -> an error result; sandbox(port) -> {"uid", "home", "net"}: the uid the server runs as
(outside its user namespace), its home, and whether it reached 127.0.0.1:port.
"""
import json
import os
import socket
import sys

TOOLS = [
    {"name": "reverse", "description": "Reverse a text",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 20}},
                     "required": ["text"]}},
    {"name": "shout", "description": "Upper-case a text",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "fail", "description": "Always fails", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "sandbox", "description": "Where the server runs",
     "inputSchema": {"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["port"]}},
]


def reaches(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def reply(msg_id, result):
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg_id, "result": result}) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    if not line.strip():
        continue
    msg = json.loads(line)
    method, msg_id = msg.get("method"), msg.get("id")
    if msg_id is None:
        continue  # notifications (e.g. notifications/initialized)
    if method == "initialize":
        reply(msg_id, {"protocolVersion": msg["params"]["protocolVersion"],
                       "capabilities": {"tools": {}},
                       "serverInfo": {"name": "test-mcp", "version": "1.0"}})
    elif method == "tools/list":
        reply(msg_id, {"tools": TOOLS})
    elif method == "tools/call":
        name, args = msg["params"]["name"], msg["params"].get("arguments") or {}
        if name == "reverse":
            reply(msg_id, {"content": [{"type": "text", "text": args["text"][::-1]}], "isError": False})
        elif name == "sandbox":
            # In a user namespace uid 0 may be nobody outside: the map tells the outside uid.
            with open("/proc/self/uid_map") as f:
                inside, outside, _ = f.read().split()[:3]
            outside_uid = int(outside) if int(inside) == os.getuid() else os.getuid()
            info = {"uid": outside_uid, "home": os.environ.get("HOME"), "net": reaches(args["port"])}
            reply(msg_id, {"content": [{"type": "text", "text": json.dumps(info)}],
                           "structuredContent": info, "isError": False})
        elif name == "shout":
            reply(msg_id, {"content": [{"type": "text", "text": args["text"].upper()}],
                           "structuredContent": {"upper": args["text"].upper()}, "isError": False})
        else:
            reply(msg_id, {"content": [{"type": "text", "text": "this tool always fails"}], "isError": True})
    else:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg_id,
                                     "error": {"code": -32601, "message": "method not found"}}) + "\n")
        sys.stdout.flush()
