"""Errors that point a person at the exact file and line that is wrong."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input in a file the user (or the agent) wrote. Message names file and, if known, line."""

    def __init__(self, path: Path | str, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        self.detail = message
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {message}")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ServiceUnavailable(RuntimeError):
    """A service the daemon needs did not answer (after its own retries): the daemon waits for it
    (loop/daemon/waiting.py) instead of scoring or failing the experiment. `service` names it in the
    status line ("waiting for the judge since ..."), `notify_kind` is the notification sent."""

    service = "a service"
    notify_kind = "judge_waiting"


class JudgeUnavailable(ServiceUnavailable):
    """Judging stayed incomplete after the retries of the failed cases: the evaluation is not a
    measurement. Nothing is recorded; the daemon waits for the judge (loop/daemon/waiting.py)."""

    service = "the judge"
    notify_kind = "judge_waiting"

    def __init__(self, case_ids: list[str], last_error: str, tries: int, gate: str | None = None):
        self.case_ids, self.last_error, self.tries, self.gate = list(case_ids), _one_line(last_error), tries, gate
        shown = ", ".join(self.case_ids[:5]) + (", …" if len(self.case_ids) > 5 else "")
        where = f" on the {gate} gate" if gate else ""
        super().__init__(f"the judge is unavailable: {len(self.case_ids)} case(s){where} unjudged after {tries} "
                         f"tries ({shown}); last error: {self.last_error}")


class InfrastructureError(RuntimeError):
    """A case failed because of the product's own machinery (runner, model file, sandbox), not the
    pipeline: the evaluation is not a measurement; the experiment is `crashed`, never scored."""

    def __init__(self, case_id: str, reason: str):
        self.case_id, self.reason = case_id, _one_line(reason)
        super().__init__(f"infrastructure error on case {case_id}: {self.reason}")


class AgentApiUnavailable(ServiceUnavailable):
    """The research agent's model API was unreachable, overloaded or rate-limiting (connection refused,
    HTTP 429/5xx/529) after the agent's own retries: no experiment happened, so it is neither crashed
    nor counted toward the failure halt; the daemon waits and runs the agent step again."""

    service = "the agent's API"
    notify_kind = "agent_api_waiting"

    def __init__(self, detail: str):
        self.detail = _one_line(detail)
        super().__init__(f"the agent's API is unavailable: {self.detail}")
