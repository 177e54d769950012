#!/usr/bin/env python3
"""A scripted stand-in for the Anthropic Messages API, for tests only.

Listens on 127.0.0.1:PORT (inside the sandbox's own network namespace),
or on ADDR with --bind, speaking TLS with --tls CERT KEY (an upstream in a
test network namespace, reached through cordon's proxy).
The first request that offers the Bash tool gets a tool_use calling Bash
with the command in $FAKE_BASH_COMMAND; a request carrying a tool_result
gets a final text answer. Every request (method, path, body) is appended
to $FAKE_LOG as one JSON line with the request's x-api-key and
authorization headers, so the test can read what Claude Code sent back
(the tool's output, or the hook's reason for refusing it), which key
arrived and which paths were asked for. Only the paths the CLI uses are
served (POST /v1/messages and /v1/messages/count_tokens; GET /api/hello
and /v1/models): any other is answered 404, as the real API would. With --bind it prints
"ready" once it listens.
Usage: fake_anthropic.py PORT [--bind ADDR] [--tls CERT KEY]
"""
import json
import os
import socketserver
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMAND = os.environ.get("FAKE_BASH_COMMAND", "echo hello")
LOG = os.environ.get("FAKE_LOG", "/dev/null")


def sse(events):
    out = []
    for name, data in events:
        out.append(f"event: {name}\ndata: {json.dumps(data)}\n\n")
    return "".join(out).encode()


def message_events(model, blocks, stop):
    msg = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
           "content": [], "stop_reason": None, "stop_sequence": None,
           "usage": {"input_tokens": 10, "output_tokens": 1}}
    ev = [("message_start", {"type": "message_start", "message": msg})]
    for i, b in enumerate(blocks):
        if b["type"] == "text":
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "text", "text": ""}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "text_delta", "text": b["text"]}}))
        else:
            ev.append(("content_block_start", {"type": "content_block_start", "index": i,
                                               "content_block": {"type": "tool_use", "id": b["id"],
                                                                 "name": b["name"], "input": {}}}))
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": i,
                                               "delta": {"type": "input_json_delta",
                                                         "partial_json": json.dumps(b["input"])}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": stop, "stop_sequence": None},
                                 "usage": {"output_tokens": 5}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


def has_tool_result(req):
    for m in req.get("messages", []):
        c = m.get("content")
        if isinstance(c, list) and any(isinstance(b, dict) and b.get("type") == "tool_result"
                                       for b in c):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request_line(self, req):
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "x-api-key": self.headers.get("x-api-key"),
                                "authorization": self.headers.get("authorization"),
                                "body": req}) + "\n")

    def do_GET(self):
        self.log_request_line({})
        path = self.path.split("?")[0]
        if path in ("/", "/api/hello"):
            self.reply(200, b"{}")
        elif path == "/v1/models":
            self.reply(200, b'{"data": [], "has_more": false}')
        else:
            self.reply(404, b'{"type": "error", "error": {"type": "not_found_error"}}')

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw)
        except ValueError:
            req = {}
        self.log_request_line(req)
        path = self.path.split("?")[0]
        if path not in ("/v1/messages", "/v1/messages/count_tokens"):
            self.reply(404, b'{"type": "error", "error": {"type": "not_found_error"}}')
            return
        if path == "/v1/messages/count_tokens":
            self.reply(200, b'{"input_tokens": 10}')
            return
        model = req.get("model", "claude-fake")
        tools = [t.get("name") for t in req.get("tools", []) if isinstance(t, dict)]
        if has_tool_result(req):
            blocks, stop = [{"type": "text", "text": "FAKE-DONE"}], "end_turn"
        elif "Bash" in tools:
            blocks = [{"type": "tool_use", "id": "toolu_fake01", "name": "Bash",
                       "input": {"command": COMMAND, "description": "scripted by the test"}}]
            stop = "tool_use"
        else:
            blocks, stop = [{"type": "text", "text": "ok"}], "end_turn"
        if req.get("stream"):
            self.reply(200, sse(message_events(model, blocks, stop)), "text/event-stream")
        else:
            body = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                    "content": blocks, "stop_reason": stop, "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 5}}
            self.reply(200, json.dumps(body).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer's would look the address up in DNS (getfqdn), which
        # waits for a timeout in a network namespace with no resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


if __name__ == "__main__":
    args = sys.argv[2:]
    bind = args[args.index("--bind") + 1] if "--bind" in args else "127.0.0.1"
    srv = Server((bind, int(sys.argv[1])), Handler)
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if "--bind" in args:
        print("ready", flush=True)
    srv.serve_forever()
