"""Registration closes the loop: a checked adapter becomes an `interactive` experiment and its result
answers the training request.

`evaluate_adapter` runs one experiment, as the daemon does for a dropped adapter (`AdapterRegistration`:
the adapter goes into the content-addressed store, the new experiment's worktree gets only its pointer,
the lever is the adapter's recipe), then `answer_from_experiment` marks the request answered with the
adapter's sha256 and the experiment number; its quality is read from that experiment. An experiment
that could not be scored (invalid, crashed) leaves the request open, saying why in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from loop.adapters.register import DropMetadata

log = logging.getLogger("loop.daemon")
SCORED = ("kept", "discarded")


@dataclass(frozen=True)
class Closed:
    sha256: str
    experiment: int
    status: str
    quality: float | None
    answer: str


class AdapterNotScored(RuntimeError):
    """The interactive experiment ran but produced no score: the request stays open."""


def evaluate_adapter(resources, source: Path, request_id: int, metadata: DropMetadata, extra: dict) -> Closed:
    from loop.daemon import experiments
    from loop.daemon.agents.adapter import AdapterRegistration
    from loop.daemon.iteration import Iteration

    if experiments.incumbent(resources.config, resources.ruler_id(), resources.git.research_tip()) is None:
        raise AdapterNotScored(f"no incumbent under the current ruler at the research tip yet, so the adapter has "
                               f"nothing to be compared with: measure the baseline first (`autoresearch run "
                               f"--once`); training request {request_id} stays open")
    agent = AdapterRegistration(source, recipe=metadata.recipe, move=False, origin=str(source), metadata=extra)
    result = Iteration(resources, agent, operator="interactive").run()
    if agent.registration is None or result.status not in SCORED:
        raise AdapterNotScored(f"experiment {result.number:04d} ended {result.status}: {result.reason}; training "
                               f"request {request_id} stays open")
    return answer_from_experiment(resources.config, request_id, agent.registration.pointer.sha256,
                                  agent.registration.pointer.recipe, result.number, result.status, result.quality)


def answer_from_experiment(config, request_id: int, sha256: str, recipe: str, number: int, status: str,
                           quality: float | None) -> Closed:
    from loop.daemon.requests import answer_request

    score = f"quality {quality:.4f}" if quality is not None else "no quality"
    text = (f"{recipe} adapter {sha256} evaluated as interactive experiment {number:04d}: {status}, {score}")
    answer_request(config, request_id, text, adapter_sha256=sha256, answer_experiment=number)
    return Closed(sha256=sha256, experiment=number, status=status, quality=quality, answer=text)


def answer_after_daemon_run(config, agent, result) -> None:
    """The daemon evaluated a dropped adapter whose metadata names a training request: answer it."""
    request_id = agent.extra.get("request") or (agent.metadata.model_extra or {}).get("request")
    if request_id is None or agent.registration is None:
        return
    if result.status not in SCORED:
        log.warning("adapter experiment %04d ended %s: training request %s stays open", result.number,
                    result.status, request_id)
        return
    from loop.training.register import open_request

    try:
        open_request(config, int(request_id))  # answered or declined meanwhile: left as the human closed it
        answer_from_experiment(config, int(request_id), agent.registration.pointer.sha256, agent.lever,
                               result.number, result.status, result.quality)
    except LookupError as exc:
        log.error("adapter experiment %04d: %s", result.number, exc)
