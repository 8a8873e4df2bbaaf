"""The `cloud` runner: a Claude model as the candidate, through pipeline-gen/1. Reference only.

    python -m loop.runners.cloud_server serve --model claude-sonnet-4-6 [--max-retries N]

Uses the `anthropic` client, which reads ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL from the environment.
instructions -> `system`, prompt -> one user message; json_schema output -> `output_config.format`
(structured output), the reply text parsed as JSON. The request's sampling is NOT applied: the
pinned SDK (anthropic 2.12.0) offers no temperature/top_k/top_p/seed on messages.create, so every call
uses the model's own decoding and greedy repeatability is not promised. Results from this backend are never part of the on-device record: the factory marks the client
`reference=True` and the evaluation harness stores them with kind="reference".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from loop.runners.protocol import Backend, Request, Response, Timing, Usage
from loop.runners.serve_loop import error_response, run_cli

DEFAULT_MAX_OUTPUT_TOKENS = 1024


class CloudBackend:
    def __init__(self, model: str, max_retries: int = 2):
        self.model = model
        self.max_retries = max_retries
        self.unavailable_code = "model_unavailable"
        self._served_model: str | None = None
        self._client = None
        has_creds = bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
                         or os.environ.get("ANTHROPIC_BASE_URL"))
        self._reason = None if has_creds else "no ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) in the environment"

    def backend(self) -> Backend:
        return Backend(name="cloud", model=self.model, model_version=self._served_model or self.model,
                       os_build=platform.platform(), adapter_signature=None,
                       available=self._reason is None, reason=self._reason)

    def _anthropic(self):
        if self._client is None:
            import anthropic

            kwargs = {"max_retries": self.max_retries}
            if not os.environ.get("ANTHROPIC_API_KEY") and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
                kwargs["api_key"] = "none"  # a local compatible server (ANTHROPIC_BASE_URL) needs no key
            self._client = anthropic.Anthropic(**kwargs)
        return self._client

    def generate(self, request: Request) -> Response:
        import anthropic

        started = time.perf_counter()
        if request.adapter:
            return error_response(request.id, self.backend(), "adapter_invalid",
                                  "the cloud runner cannot apply adapters")
        if not request.prompt:
            return error_response(request.id, self.backend(), "bad_request", "generate needs a non-empty prompt")
        schema = request.output.schema_ if request.output and request.output.kind == "json_schema" else None
        if request.output and request.output.kind == "json_schema" and not schema:
            return error_response(request.id, self.backend(), "unsupported_schema", "output kind json_schema needs a schema")
        kwargs = self._arguments(request, schema)
        try:
            client = self._anthropic()
            if request.timeout_s:
                client = client.with_options(timeout=request.timeout_s)
            message = client.messages.create(**kwargs)
        except anthropic.APIStatusError as exc:
            return self._status_error(request, exc, started)
        except anthropic.APITimeoutError as exc:
            return error_response(request.id, self.backend(), "timeout", f"Anthropic API timed out: {exc}",
                                  retryable=True, latency_ms=_ms(started))
        except anthropic.APIConnectionError as exc:
            return error_response(request.id, self.backend(), "model_unavailable",
                                  f"cannot reach the Anthropic API: {exc}", retryable=True, latency_ms=_ms(started))
        self._served_model = getattr(message, "model", None) or self._served_model
        return self._answer(request, message, schema, started)

    def _arguments(self, request: Request, schema: dict | None) -> dict:
        kwargs: dict = {
            "model": self.model,
            "max_tokens": request.max_output_tokens or DEFAULT_MAX_OUTPUT_TOKENS,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.instructions:
            kwargs["system"] = request.instructions
        # No sampling arguments: anthropic 2.12.0's messages.create has no temperature/top_k/top_p.
        if schema is not None:
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        return kwargs

    def _answer(self, request: Request, message, schema: dict | None, started: float) -> Response:
        backend = self.backend()
        text = "".join(getattr(block, "text", "") for block in message.content if getattr(block, "type", "") == "text")
        usage = Usage(input_tokens=getattr(message.usage, "input_tokens", None),
                      output_tokens=getattr(message.usage, "output_tokens", None)) if message.usage else None
        latency = _ms(started)
        if message.stop_reason == "refusal":
            return error_response(request.id, backend, "refusal", "the model refused to answer", text=text,
                                  usage=usage, latency_ms=latency)
        parsed = None
        if schema is not None:
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                cut = message.stop_reason == "max_tokens"
                why = "output stopped at max_tokens before the JSON was complete" if cut else f"reply is not JSON ({exc})"
                return error_response(request.id, backend, "decoding_failure", why, text=text, usage=usage,
                                      latency_ms=latency, retryable=not cut)
        return Response(id=request.id, ok=True, text=text, json=parsed, usage=usage,
                        timing=Timing(latency_ms=latency), backend=backend)

    def _status_error(self, request: Request, exc, started: float) -> Response:
        status = getattr(exc, "status_code", None)
        detail = f"Anthropic API answered {status}: {getattr(exc, 'message', exc)}"
        if status == 429:
            code, retryable = "rate_limited", True
        elif status in (401, 403, 404):
            code, retryable = "model_unavailable", False
        elif status == 400:
            code = "unsupported_schema" if "schema" in detail.lower() else "bad_request"
            retryable = False
        else:
            code, retryable = "model_unavailable", True
        return error_response(request.id, self.backend(), code, detail, retryable=retryable, latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="Claude model id, e.g. claude-sonnet-4-6")
    parser.add_argument("--max-retries", type=int, default=2, help="client retries on 429/5xx (default 2)")


def main(argv: list[str] | None = None) -> int:
    return run_cli("pipeline-gen/1 runner on a Claude model (reference only)", _arguments,
                   lambda a: CloudBackend(a.model, a.max_retries), argv)


if __name__ == "__main__":
    sys.exit(main())
