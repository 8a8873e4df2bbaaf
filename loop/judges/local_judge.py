"""The local LLM judge: the frozen judge prompts of `ruler/judge_prompts/` through a llama.cpp model.

Same shape as the official judge (`anthropic_judge.py`): per case two requests, (1) candidate as Set A:
dims, verdict, reasoning, failure notes; (2) gold as Set A: verdict only; the two verdicts combine by
the frozen rule. Replies are constrained by a JSON schema (a GBNF grammar in the llama runner) built
from the same pydantic reply models (`replies.py`), with bounded string lengths so a small model cannot
talk past its token budget, and parsed by the same `parse_reply`.

Retry and error rules as the official judge: a malformed reply or a retryable runner failure
(timeout, a dead runner, undecodable output) is retried up to `config.judge_max_retries` times; the
first attempt decodes greedily, each retry samples with a fixed seed (so a retry can differ and a run
still repeats). Other runner errors (bad request, unsupported schema, context overflow, a missing
model file) fail at once. A request that still fails makes the case a judge error, never a score.

Slow on two cores (two ~2k-token prompts per case): use it on the full gate, with the proxy as the dev screen.
The judge id names the model and its pinned file hash: "local:<model>@<sha256[:12]>" (+":coverage-blind").
"""

from __future__ import annotations

import threading
from copy import deepcopy

from loop import models
from loop.config import Config
from loop.judges.base import JudgeError
from loop.judges.prompts import render, template
from loop.judges.replies import MalformedReply, VerdictReply, parse_reply, rubric_model
from loop.runners.client import RunnerClient, RunnerError
from loop.runners.protocol import Output, Request, Sampling
from loop.judges.two_orders import judgement_from_orders
from loop.schemas import Answer, Case, CaseJudgement

MAX_TEXT = {"reasoning": 600, "failure_notes": 400}  # characters a reply's free-text fields may hold
FAIL_AT_ONCE = {"bad_request", "unsupported_schema", "context_overflow", "model_not_found", "adapter_not_found"}


def reply_schema(model) -> dict:
    """The reply model's JSON schema with references inlined and free text bounded (for a grammar)."""
    schema = deepcopy(model.model_json_schema())
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].split("/")[-1]])
            return {k: resolve(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    schema = resolve(schema)
    for name, limit in MAX_TEXT.items():
        if name in schema.get("properties", {}):
            schema["properties"][name]["maxLength"] = limit
    return schema


class LocalJudge:
    """Thread-safe: requests go one at a time through one llama runner (started on first use)."""

    def __init__(self, config: Config, *, client: RunnerClient | None = None):
        self.model = config.local_judge_model
        if self.model not in models.REGISTRY:
            raise ValueError(f"local_judge_model {self.model!r} is not in the model registry "
                             f"({', '.join(models.REGISTRY)})")
        self.mode = config.judge_mode
        sha = models.REGISTRY[self.model].files[0].sha256
        self.judge_id = f"local:{self.model}@{sha[:12]}" + ("" if self.mode == "standard" else f":{self.mode}")
        self.max_retries = config.judge_max_retries
        self.max_tokens = config.local_judge_max_tokens
        self.timeout_s = config.local_judge_timeout_s
        self.prompts_dir = config.ruler_dir / "judge_prompts"
        self.system_prompt = template("system", self.mode, self.prompts_dir)
        self._rubric_model = rubric_model(self.mode)
        self._config = config
        self._client = client
        self._lock = threading.Lock()
        self.judge_calls = 0
        self.retries = 0

    # --- the contract -------------------------------------------------------------------------
    def judge(self, case: Case, candidate: Answer) -> CaseJudgement:
        first = self._guarded("rubric_and_verdict", case.task, candidate, case.gold, self._rubric_model)
        second = self._guarded("verdict_only", case.task, case.gold, candidate, VerdictReply)
        return judgement_from_orders(first, second)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> "LocalJudge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- one request with its own retry loop ----------------------------------------------------
    def request(self, prompt: str, task: str, set_a: Answer, set_b: Answer, reply_model, attempt: int) -> Request:
        user = render(prompt, self.mode, task=task, set_a=set_a, set_b=set_b, prompts_dir=self.prompts_dir)
        sampling = Sampling(mode="greedy") if attempt == 0 else Sampling(mode="random", temperature=0.7, seed=attempt)
        return Request(id=f"judge-{prompt}-{attempt}", op="generate", instructions=self.system_prompt, prompt=user,
                       sampling=sampling, max_output_tokens=self.max_tokens, timeout_s=self.timeout_s,
                       output=Output(kind="json_schema", schema=reply_schema(reply_model)))

    def _request(self, prompt: str, task: str, set_a: Answer, set_b: Answer, reply_model):
        """(parsed reply, requests sent); raises JudgeError (with `.calls`) when retries run out."""
        calls, last = 0, "no attempt"
        for attempt in range(self.max_retries + 1):
            calls += 1
            with self._lock:
                self.judge_calls += 1
                self.retries += bool(attempt)
            try:
                response = self._runner().call(self.request(prompt, task, set_a, set_b, reply_model, attempt))
            except RunnerError as exc:
                last = f"runner {exc.code}: {exc.message}"
                if exc.code in FAIL_AT_ONCE or not exc.retryable and exc.code != "decoding_failure":
                    raise JudgeError(last, calls) from None
                continue
            if not response.ok:
                error = response.error
                last = f"runner {error.code}: {error.message}"
                if error.code in FAIL_AT_ONCE:
                    raise JudgeError(last, calls)
                continue
            try:
                return parse_reply(response.text or "", reply_model), calls
            except MalformedReply as exc:
                last = f"malformed reply: {exc}"
        raise JudgeError(f"{last} (after {calls} attempt(s))", calls)

    def _guarded(self, *args):
        try:
            return self._request(*args)
        except JudgeError as exc:
            return exc, exc.calls
        except Exception as exc:  # a missing model file or a runner that cannot start: a judge error
            return JudgeError(f"{type(exc).__name__}: {exc}"), 1

    def _runner(self) -> RunnerClient:
        with self._lock:
            if self._client is None:
                from loop.runners.factory import runner_argv, runner_env

                config = self._config.model_copy(update={"model": self.model})
                client = RunnerClient(runner_argv(config, "llama"), env=runner_env(config),
                                      timeout_s=self.timeout_s + 30, name="local-judge")
                client.start()
                self._client = client
            return self._client
