"""The official judge: a Claude model through the `anthropic` SDK.

Per case two requests, run concurrently: (1) candidate as Set A, gold as Set B: dims of the candidate,
verdict, reasoning, failure notes; (2) gold as Set A, candidate as Set B: verdict only. The two verdicts
combine by the frozen rule (disagreement -> tie). The static rubric (`ruler/judge_prompts/system.md`)
is the system prompt, one text block marked `cache_control: ephemeral`, so every request after the
first reads it from the prompt cache. Replies are structured JSON (`output_config.format` json_schema)
parsed into pydantic models.

The SDK's own retries are off (`max_retries=0`); this module retries, with exponential backoff and
full jitter, on 429 / 408 / 409 / 5xx, timeouts, connection errors and malformed replies, up to
`config.judge_max_retries` times per request. A request that still fails makes the case a judge error
(`CaseJudgement.error`), never a silent score. Other 4xx (bad request, auth) fail at once.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic

from loop.config import Config
from loop.judges.base import JudgeError
from loop.judges.pricing import price_of, usage_of
from loop.judges.prompts import render, template
from loop.judges.replies import MalformedReply, VerdictReply, json_schema, parse_reply, rubric_model
from loop.judges.two_orders import judgement_from_orders
from loop.schemas import Answer, Case, CaseJudgement, JudgeUsage

RETRYABLE_STATUS = {408, 409, 429}
MAX_TOKENS_RUBRIC = 1500
MAX_TOKENS_VERDICT = 600
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


class AnthropicJudge:
    """Thread-safe: the harness calls `judge()` from up to `judge_concurrency` threads at once."""

    def __init__(self, config: Config, *, backoff_base_s: float = 1.0, backoff_max_s: float = 30.0,
                 client: anthropic.Anthropic | None = None):
        self.model = config.judge_model
        self.mode = config.judge_mode
        self.endpoint = endpoint_name(config.anthropic_base_url)
        self.judge_id = (f"anthropic:{self.model}" + ("" if self.mode == "standard" else f":{self.mode}")
                         + ("" if self.endpoint == CLOUD else f"@{self.endpoint}"))
        self.max_retries = config.judge_max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.client = client or _make_client(config)
        self.prompts_dir = config.ruler_dir / "judge_prompts"  # the ruler the ruler id is computed over
        self.system_prompt = template("system", self.mode, self.prompts_dir)
        self._rubric_model = rubric_model(self.mode)
        self.sequential = config.judge_concurrency == 1  # one request in flight at a time, both orders included
        self._pool = ThreadPoolExecutor(config.judge_concurrency, thread_name_prefix="judge-swapped")
        self._lock = threading.Lock()
        self.judge_calls = 0  # requests sent, retries included
        self.retries = 0  # of which retries
        self.usage = dict.fromkeys(USAGE_FIELDS, 0)
        self.price = price_of(self.model)  # loop/judges/pricing.py: each case's judging carries its dollars

    # --- the contract -------------------------------------------------------------------------
    def judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        spent: list[JudgeUsage] = []  # every reply's usage, failed attempts included (list.append is atomic)
        ask_swapped = (self._request, "verdict_only", case.task, case.gold, candidate, VerdictReply, spent)
        swapped = None if self.sequential else self._pool.submit(*ask_swapped)
        first = self._guarded(self._request, "rubric_and_verdict", case.task, candidate, case.gold,
                              self._rubric_model, spent)
        second = self._guarded(*ask_swapped) if swapped is None else self._guarded(swapped.result)
        # every reply's usage, the failed attempts' too, on the judgement or the error judgement alike
        return judgement_from_orders(first, second).model_copy(update={"usage": JudgeUsage.total(spent)})

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.client.close()

    def __enter__(self) -> "AnthropicJudge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one request with its own retry loop ----------------------------------------------------
    def request_body(self, prompt: str, task: str, set_a: Answer, set_b: Answer, reply_model) -> dict:
        """The keyword arguments of `messages.create` for one judge request."""
        rubric = prompt == "rubric_and_verdict"
        user = render(prompt, self.mode, task=task, set_a=set_a, set_b=set_b, prompts_dir=self.prompts_dir)
        return {
            "model": self.model,
            "max_tokens": MAX_TOKENS_RUBRIC if rubric else MAX_TOKENS_VERDICT,
            "system": [{"type": "text", "text": self.system_prompt, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": user}],
            "output_config": {"format": {"type": "json_schema", "schema": json_schema(reply_model)}},
        }

    def _request(self, prompt: str, task: str, set_a: Answer, set_b: Answer, reply_model,
                 spent: list[JudgeUsage] | None = None):
        """(parsed reply, requests sent); raises JudgeError (with `.calls`) when retries run out."""
        body = self.request_body(prompt, task, set_a, set_b, reply_model)
        calls, last, last_retry_after = 0, "no attempt", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._count_retry()
                time.sleep(self._backoff(attempt, last_retry_after))
            last_retry_after = None
            calls += 1
            self._count_call()
            try:
                message = self.client.messages.create(**body)
                self._count_usage(message.usage)
                if spent is not None:
                    spent.append(usage_of(message.usage, self.price))
                if message.stop_reason not in ("end_turn", "stop_sequence"):
                    raise MalformedReply(f"stop_reason {message.stop_reason}")
                text = "".join(b.text for b in message.content if getattr(b, "type", None) == "text")
                return parse_reply(text, reply_model), calls
            except MalformedReply as exc:
                last = f"malformed reply: {exc}"
            except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            except anthropic.APIStatusError as exc:
                last = f"HTTP {exc.status_code}: {_error_message(exc)}"
                if exc.status_code not in RETRYABLE_STATUS and exc.status_code < 500:
                    raise JudgeError(last, calls) from None
                last_retry_after = _retry_after(exc)
        raise JudgeError(f"{last} (after {calls} attempt(s))", calls)

    def _guarded(self, fn, *args):
        """(result or the JudgeError, requests sent)."""
        try:
            result, calls = fn(*args)
            return result, calls
        except JudgeError as exc:
            return exc, exc.calls
        except Exception as exc:  # an SDK surprise must not crash the evaluation
            return JudgeError(f"{type(exc).__name__}: {exc}"), 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        delay = random.uniform(ceiling / 2, ceiling)  # "equal jitter": never zero, never in lockstep
        return min(self.backoff_max_s, max(delay, retry_after or 0.0))

    def _count_call(self) -> None:
        with self._lock:
            self.judge_calls += 1

    def _count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def _count_usage(self, usage) -> None:
        with self._lock:
            for field in USAGE_FIELDS:
                self.usage[field] += getattr(usage, field, 0) or 0


CLOUD = "api.anthropic.com"


def endpoint_name(base_url: str | None) -> str:
    """Where the judge's requests go, as it enters the judge id: the cloud, or host[:port][/path] of a
    compatible server (`anthropic_base_url`), so two servers never give comparable-looking scores."""
    if not base_url:
        return CLOUD
    from urllib.parse import urlsplit

    parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
    host = (parts.hostname or "").lower()
    if host == CLOUD and parts.port in (None, 443) and parts.path.strip("/") == "":
        return CLOUD
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{host}{port}{path}"


def _make_client(config: Config) -> anthropic.Anthropic:
    kwargs: dict = {"base_url": config.anthropic_base_url or None, "max_retries": 0, "timeout": config.judge_timeout_s}
    has_key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if config.anthropic_base_url and not has_key:
        kwargs["api_key"] = "unused-by-local-server"  # a compatible local server (tests) needs no key
    return anthropic.Anthropic(**kwargs)


def _error_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(error.get("message") or exc.message)[:200]


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (TypeError, ValueError):
        return None


def cached_prefix_share(request_body: dict) -> float:
    """Share of a request's input characters that the prompt cache covers.

    Counts text characters (text blocks; tools as their JSON) in the order the API caches them
    (tools, system, messages). A block marked `cache_control` caches itself and everything before it,
    so the covered part runs up to the last marked block; a top-level `cache_control` covers all.
    For the judge's requests the marked block is the system prompt, which comes first.
    """
    sizes: list[tuple[int, bool]] = []
    for tool in request_body.get("tools") or []:
        sizes.append((len(_json(tool)), "cache_control" in tool))
    system = request_body.get("system")
    sizes += _block_sizes(system) if system is not None else []
    for message in request_body.get("messages") or []:
        sizes += _block_sizes(message.get("content"))
    total = sum(size for size, _ in sizes)
    if total == 0:
        return 0.0
    if request_body.get("cache_control"):
        return 1.0
    marked = [i for i, (_, is_marked) in enumerate(sizes) if is_marked]
    if not marked:
        return 0.0
    return sum(size for size, _ in sizes[: marked[-1] + 1]) / total


def _block_sizes(content) -> list[tuple[int, bool]]:
    if isinstance(content, str):
        return [(len(content), False)]
    out = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        text = block.get("text") if block.get("type") == "text" else _json(block.get("input", block.get("content", "")))
        out.append((len(text or ""), "cache_control" in block))
    return out


def _json(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
