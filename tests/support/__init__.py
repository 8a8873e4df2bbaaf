"""Test and benchmark helpers (no network beyond 127.0.0.1, stdlib only)."""

from tests.support.anthropic_server import Reply, ScriptedAnthropicServer, text_reply, tool_use_reply

__all__ = ["Reply", "ScriptedAnthropicServer", "text_reply", "tool_use_reply"]
