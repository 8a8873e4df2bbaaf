"""A scripted Anthropic-compatible HTTP server for tests and benchmarks (stdlib only).

    with ScriptedAnthropicServer(lambda body: Reply([{"type": "text", "text": "hi"}])) as server:
        client = anthropic.Anthropic(base_url=server.base_url, api_key="dummy")

It listens on 127.0.0.1 with a free port (or `port=`), in a background thread (`ThreadingHTTPServer`), and serves:

- `POST /v1/messages` (also `?beta=true`, as the Claude Code CLI posts): the handler gets the JSON body
  and returns a `Reply`. With `"stream": true` in the body the answer is Server-Sent Events shaped as the
  Anthropic API sends them (message_start, ping, content_block_start / content_block_delta (text_delta,
  input_json_delta) / content_block_stop per block, message_delta with stop_reason and usage,
  message_stop); otherwise a JSON message object. A `Reply` with `status != 200` answers with the API's
  error body `{"type": "error", "error": {"type", "message"}}` (never as a stream). A handler that
  raises answers 500 `api_error`.
- `POST /v1/messages/count_tokens` -> `{"input_tokens": N}` (a rough count: characters / 4).
- anything else -> 404 `not_found_error`.

Token counts are estimates (characters / 4) unless the `Reply` gives `usage`.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

TEXT_CHUNK = 24  # characters per text_delta / input_json_delta event


@dataclass
class Reply:
    """What the scripted server answers to one /v1/messages request."""

    content: list[dict] = field(default_factory=list)  # Anthropic content blocks (text / tool_use)
    stop_reason: str = "end_turn"
    status: int = 200
    error_type: str = "api_error"  # used when status != 200
    usage: dict | None = None  # merged over the estimated usage
    model: str | None = None  # default: the model the request asked for
    hang_s: float = 0.0  # sleep before answering (provokes client timeouts)
    error_message: str = "scripted error"
    headers: dict[str, str] | None = None  # extra response headers (e.g. retry-after)


def text_reply(text: str, **kwargs) -> Reply:
    return Reply(content=[{"type": "text", "text": text}], **kwargs)


def tool_use_reply(name: str, tool_input: dict, *, tool_id: str | None = None, **kwargs) -> Reply:
    block = {"type": "tool_use", "id": tool_id or f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input}
    kwargs.setdefault("stop_reason", "tool_use")
    return Reply(content=[block], **kwargs)


class ScriptedAnthropicServer:
    """Context manager; `.base_url`, `.requests` (JSON bodies received on /v1/messages), `.stop()`."""

    def __init__(self, handler: Callable[[dict], Reply], *, delay_s: float = 0.0, port: int = 0):
        self.handler = handler
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._requests: list[dict] = []
        self._log: list[dict] = []
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="scripted-anthropic", daemon=True)
        self._thread.start()
        self._stopped = False

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[dict]:
        """A snapshot of the JSON bodies received on /v1/messages, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def log(self) -> list[dict]:
        """Every request seen: {"method", "path", "headers", "body"} (body None when not JSON)."""
        with self._lock:
            return list(self._log)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()  # wakes handlers sleeping in hang_s / delay_s
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedAnthropicServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- called from handler threads -------------------------------------------------------
    def _record(self, method: str, path: str, headers: dict, body: dict | None, is_message: bool) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "headers": headers, "body": body})
            if is_message and body is not None:
                self._requests.append(body)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # many concurrent clients (judge tests run 32 requests at once)
    owner: ScriptedAnthropicServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._read_body()
        self.server.owner._record("GET", self.path, dict(self.headers), None, False)
        self._send_error(404, "not_found_error", f"no route for GET {urlsplit(self.path).path}")

    def do_HEAD(self) -> None:
        self.server.owner._record("HEAD", self.path, dict(self.headers), None, False)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        owner = self.server.owner
        route = urlsplit(self.path).path.rstrip("/")
        raw = self._read_body()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        owner._record("POST", self.path, dict(self.headers), body, route == "/v1/messages")
        if route not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self._send_error(404, "not_found_error", f"no route for POST {route}")
        if not isinstance(body, dict):
            return self._send_error(400, "invalid_request_error", "request body is not a JSON object")
        if route == "/v1/messages/count_tokens":
            return self._send_json(200, {"input_tokens": _estimate_input_tokens(body)})
        owner._sleep(owner.delay_s)
        try:
            reply = owner.handler(body)
        except Exception as exc:  # the handler's fault -> 500, as an upstream failure would be
            return self._send_error(500, "api_error", f"scripted handler raised {type(exc).__name__}: {exc}")
        owner._sleep(reply.hang_s)
        if reply.status != 200:
            return self._send_error(reply.status, reply.error_type, reply.error_message, reply.headers)
        message = _message(body, reply)
        if body.get("stream"):
            self._send_stream(message, reply.headers)
        else:
            self._send_json(200, message, reply.headers)

    # --- plumbing ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_error(self, status: int, error_type: str, message: str, headers: dict | None = None) -> None:
        payload = {"type": "error", "error": {"type": error_type, "message": message}}
        self._send_json(status, payload, headers)

    def _send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self._send(status, "application/json", data, headers)

    def _send_stream(self, message: dict, headers: dict | None) -> None:
        data = "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in _sse_events(message))
        self._send(200, "text/event-stream; charset=utf-8", data.encode(), {"Cache-Control": "no-cache", **(headers or {})})

    def _send(self, status: int, content_type: str, data: bytes, headers: dict | None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout)
            self.close_connection = True


def _message(request: dict, reply: Reply) -> dict:
    usage = {
        "input_tokens": _estimate_input_tokens(request),
        "output_tokens": max(1, len(json.dumps(reply.content)) // 4),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    usage.update(reply.usage or {})
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or request.get("model") or "claude-scripted",
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _sse_events(message: dict) -> list[dict]:
    """The event sequence the Anthropic API streams for a finished message."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message["content"]):
        events.extend(_block_events(index, block))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {
                "input_tokens": usage["input_tokens"],
                "cache_creation_input_tokens": usage["cache_creation_input_tokens"],
                "cache_read_input_tokens": usage["cache_read_input_tokens"],
                "output_tokens": usage["output_tokens"],
            },
        }
    )
    events.append({"type": "message_stop"})
    return events


def _block_events(index: int, block: dict) -> list[dict]:
    kind = block.get("type")
    if kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": part} for part in _chunks(block.get("text", ""))]
    elif kind == "tool_use":
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        encoded = json.dumps(block.get("input", {}))
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": part} for part in _chunks(encoded)]
    else:  # other block kinds are sent whole in their start event
        start, deltas = block, []
    events = [{"type": "content_block_start", "index": index, "content_block": start}]
    events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def _chunks(text: str) -> list[str]:
    return [text[i : i + TEXT_CHUNK] for i in range(0, len(text), TEXT_CHUNK)]


def _estimate_input_tokens(request: dict) -> int:
    parts = [request.get("system"), request.get("messages"), request.get("tools")]
    return max(1, len(json.dumps([p for p in parts if p is not None])) // 4)
