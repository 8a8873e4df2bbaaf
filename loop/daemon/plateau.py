"""What `plateau_policy = "continue"` does when N experiments brought no new best.

It files one manual-training request (only if none is open: a person answers one at a time) that
names the plateau and the incumbent's weakest cases, and asks the agent to explore more broadly
(an agent with a `broaden(reason)` method widens its search; others read the request in the log).
"""

from __future__ import annotations

import logging

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.requests import create_request, list_requests

log = logging.getLogger("loop.daemon")


def on_plateau(config: Config, agent, since_best: int) -> int | None:
    """File the plateau's training request when none is open; returns its id (None when one was open)."""
    reason = f"plateau: {since_best} experiments without a new best"
    request_id = None
    if list_requests(config, status="open"):
        log.info("%s; a training request is already open, none filed", reason)
    else:
        best = experiments.best(config)
        rationale = (f"{reason} (the best is experiment {best.number:04d} at quality {best.quality:.4f}). "
                     if best is not None and best.quality is not None else f"{reason}. ")
        rationale += ("Inference-only changes have stopped paying off; a fine-tuned adapter (SFT on the training "
                      "pool) is the next lever.")
        evidence = "The last experiments:\n\n" + experiments.log_markdown(config, min(since_best, 25))
        request_id = create_request(config, "sft", rationale, evidence,
                                    best.number if best is not None else None)
        log.info("%s; filed training request %04d and carrying on", reason, request_id)
    broaden = getattr(agent, "broaden", None)
    if callable(broaden):
        broaden(reason)
    return request_id
