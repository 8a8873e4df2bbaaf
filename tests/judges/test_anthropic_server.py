"""The scripted Anthropic server, driven by the real `anthropic` client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import anthropic
import pytest

from tests.support import Reply, ScriptedAnthropicServer, text_reply, tool_use_reply

MODEL = "claude-sonnet-4-6"


def _client(server: ScriptedAnthropicServer, **kwargs) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="dummy", max_retries=0, **kwargs)


def test_non_stream_text_message():
    with ScriptedAnthropicServer(lambda body: text_reply(f"echo {body['messages'][0]['content']}")) as server:
        message = _client(server).messages.create(
            model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "ping"}]
        )
        assert server.base_url.startswith("http://127.0.0.1:")
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo ping"
    assert message.stop_reason == "end_turn"
    assert message.model == MODEL
    assert message.usage.input_tokens > 0 and message.usage.cache_read_input_tokens == 0
    assert server.requests == [{"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "ping"}]}]


def test_stream_text_and_tool_use_blocks_reassemble():
    long_text = "A streamed answer long enough to be split into several text deltas by the server."
    tool_input = {"file_path": "/tmp/x.txt", "content": "line one\nline two \"quoted\""}

    def handler(body: dict) -> Reply:
        reply = tool_use_reply("Write", tool_input, tool_id="toolu_1")
        reply.content.insert(0, {"type": "text", "text": long_text})
        reply.usage = {"output_tokens": 42}
        return reply

    with ScriptedAnthropicServer(handler) as server:
        client = _client(server)
        with client.messages.stream(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "go"}]) as stream:
            events = [event.type for event in stream]
            text = stream.get_final_text()
            final = stream.get_final_message()
    assert events[0] == "message_start"
    assert events.count("content_block_start") == 2 and events.count("content_block_stop") == 2
    assert events[-1] == "message_stop"
    assert text == long_text
    assert final.content[1].type == "tool_use"
    assert final.content[1].input == tool_input and final.content[1].id == "toolu_1"
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == 42
    assert server.requests[0]["stream"] is True


def test_raw_sse_event_shapes():
    with ScriptedAnthropicServer(lambda body: text_reply("x" * 60)) as server:
        request = urllib.request.Request(
            server.base_url + "/v1/messages?beta=true",
            data=json.dumps({"model": MODEL, "max_tokens": 5, "stream": True, "messages": []}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            raw = response.read().decode()
    frames = [frame.split("\n") for frame in raw.strip().split("\n\n")]
    names = [frame[0].removeprefix("event: ") for frame in frames]
    payloads = [json.loads(frame[1].removeprefix("data: ")) for frame in frames]
    assert names == [p["type"] for p in payloads]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [p["delta"] for p in payloads if p["type"] == "content_block_delta"]
    assert len(deltas) >= 3 and all(d["type"] == "text_delta" for d in deltas)
    assert payloads[0]["message"]["stop_reason"] is None and payloads[0]["message"]["content"] == []
    assert payloads[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_429_reply_raises_rate_limit_error():
    with ScriptedAnthropicServer(lambda body: Reply(status=429, error_type="rate_limit_error")) as server:
        with pytest.raises(anthropic.RateLimitError) as caught:
            _client(server).messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 429
    assert caught.value.body["error"]["type"] == "rate_limit_error"


def test_429_on_stream_request_raises_too():
    with ScriptedAnthropicServer(lambda body: Reply(status=429, error_type="rate_limit_error")) as server:
        with pytest.raises(anthropic.RateLimitError):
            with _client(server).messages.stream(model=MODEL, max_tokens=5, messages=[]) as stream:
                stream.get_final_message()


def test_handler_exception_is_500():
    def handler(body: dict) -> Reply:
        raise ValueError("boom")

    with ScriptedAnthropicServer(handler) as server:
        with pytest.raises(anthropic.InternalServerError) as caught:
            _client(server).messages.create(model=MODEL, max_tokens=5, messages=[])
    assert "boom" in str(caught.value)


def test_hang_provokes_client_timeout():
    with ScriptedAnthropicServer(lambda body: text_reply("late", hang_s=3.0)) as server:
        with pytest.raises(anthropic.APITimeoutError):
            _client(server, timeout=0.3).messages.create(model=MODEL, max_tokens=5, messages=[])


def test_count_tokens_and_unknown_path():
    with ScriptedAnthropicServer(lambda body: text_reply("unused")) as server:
        counted = _client(server).messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "hello " * 40}]
        )
        assert counted.input_tokens > 10
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(server.base_url + "/v1/other", data=b"{}"), timeout=5)
        assert caught.value.code == 404
        assert json.loads(caught.value.read())["error"]["type"] == "not_found_error"
        assert server.requests == []  # only /v1/messages bodies are listed


def test_stop_refuses_further_connections():
    server = ScriptedAnthropicServer(lambda body: text_reply("ok"))
    client = _client(server)
    client.messages.create(model=MODEL, max_tokens=5, messages=[])
    server.stop()
    with pytest.raises(anthropic.APIConnectionError):
        _client(server).messages.create(model=MODEL, max_tokens=5, messages=[])
