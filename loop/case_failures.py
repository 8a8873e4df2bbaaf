"""The one place that says why a case failed: the pipeline's own fault (a loss for that case) or the
product's machinery (an infrastructure error: the evaluation is no measurement, never scored).

By runner error code (pipeline-gen/1, plus the runner client's own codes):
- infrastructure: `model_unavailable`, `model_hash_mismatch`, `rate_limited`, `runner_exited` (a runner
  that stays dead after its restart), `closed`; a model file missing or unreadable (`ModelFileError`,
  e.g. the embedder inside the sandbox); a sandbox (worker) that fails to start;
- the pipeline's loss: `timeout`, `context_overflow`, `guardrail`, `refusal`, `decoding_failure`,
  malformed model output, a wrong shape, an exception in the pipeline's code.

A model-call error counts only when the case failed: a pipeline that retried a `rate_limited` call
and answered is fine.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

INFRA_RUNNER_CODES = frozenset({"model_unavailable", "model_hash_mismatch", "rate_limited", "runner_exited",
                                "closed"})
INFRA_EXCEPTIONS = frozenset({"ModelFileError"})
TRANSIENT_CODES = INFRA_RUNNER_CODES | {"timeout"}  # a failure that may not repeat: never cached
TRANSIENT_WORDS = ("timeout", "runner", "killed", "crash")  # for sessions that give no typed failure


class CaseFailure(BaseModel):
    """How a failed case failed, as the pipeline session saw it."""

    kind: Literal["pipeline_raised", "load_error", "sandbox_start", "timeout", "worker_crashed", "protocol",
                  "shape"]
    exc_type: str | None = None  # the exception's class name, when the pipeline (or its import) raised


def model_call_codes(trace: list[dict]) -> list[str]:
    """The error codes of the case's failed model calls (trace entries say "code: message")."""
    codes = []
    for event in trace or []:
        if event.get("kind") in ("model", "adapter") and event.get("error"):
            codes.append(str(event["error"]).split(":", 1)[0].strip())
    return codes


def infrastructure_reason(error: str | None, failure: CaseFailure | None, trace: list[dict]) -> str | None:
    """Why a failed case is an infrastructure error, or None (it passed, or it is the pipeline's loss)."""
    if not error:
        return None
    if failure is not None and failure.kind == "sandbox_start":
        return f"the sandbox failed to start: {error}"
    if failure is not None and failure.exc_type in INFRA_EXCEPTIONS:
        return f"a model file is missing or unreadable inside the sandbox: {error}"
    infra = [code for code in model_call_codes(trace) if code in INFRA_RUNNER_CODES]
    if infra:
        return f"runner error {infra[-1]}: {error}"
    return None


def cacheable(error: str | None, failure: CaseFailure | None, trace: list[dict], deterministic: bool) -> bool:
    """Whether a generation may be cached: deterministic, and not a failure that may not repeat."""
    if not deterministic:
        return False
    if not error:
        return True
    if infrastructure_reason(error, failure, trace):
        return False
    if failure is not None and failure.kind in ("timeout", "worker_crashed", "sandbox_start"):
        return False
    if any(code in TRANSIENT_CODES for code in model_call_codes(trace)):
        return False
    return not any(word in error.lower() for word in TRANSIENT_WORDS)
