"""The prompt pin: an adapter trained on one prompt is evaluated with that prompt, or not at all.

The SFT data card records the sha256 of the instructions, of the output schema and of the prompt the
pipeline's single guided call sent for one probe task (`data.py`). At registration the pipeline the
adapter will be evaluated with (the research tip's `agent_workspace`) renders the probe task again,
by the same code (`render.py`); any difference is refused before anything is stored.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loop.errors import InputError
from loop.schemas import Answer
from loop.training.render import PipelineRenderer, sha256_text

PROBE_ANSWER = Answer(title="probe", questions=[f"question {i}?" for i in range(1, 8)])


@dataclass(frozen=True)
class PinCheck:
    workspace: str
    instructions_sha256: str
    prompt_sha256: str
    schema_sha256: str | None


@contextmanager
def evaluated_workspace(config):
    """The workspace the adapter's experiment starts from: the research branch tip's agent_workspace
    when the repo has one (exported to a scratch directory), else the configured workspace."""
    repo = Path(config.repo)
    tip = research_tip(config)
    if not tip:
        yield Path(config.workspace_dir)
        return
    scratch = Path(tempfile.mkdtemp(prefix="pin-"))
    try:
        archive = subprocess.run(["git", "archive", tip, "agent_workspace"], cwd=repo, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
        yield scratch / "agent_workspace"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def research_tip(config) -> str | None:
    """The research branch's tip commit, or None where the repo has no research branch yet."""
    branch = getattr(config, "research_branch", None)
    return _git(Path(config.repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}") if branch else None


def _git(repo: Path, *args: str) -> str | None:
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


def check_pin(config, card, card_path: Path) -> PinCheck:
    """InputError (naming the data card) when the pipeline no longer sends what the data was rendered with."""
    from loop.adapters.store import open_store

    with evaluated_workspace(config) as workspace:
        with PipelineRenderer(workspace, sandbox=config.sandbox, adapter_store=open_store(config)) as renderer:
            call = renderer.render(card.probe_task, PROBE_ANSWER)
        if call.error or call.calls < 1:
            raise InputError(workspace / "pipeline.toml", f"the pipeline could not render the data card's probe "
                                                          f"task for the prompt pin: {call.error or 'no model call'}")
        got = PinCheck(workspace=str(workspace), instructions_sha256=sha256_text(call.instructions or ""),
                       prompt_sha256=sha256_text(call.prompt),
                       schema_sha256=sha256_text(json.dumps(call.schema, sort_keys=True)) if call.schema else None)
    differs = [name for name, want, have in (
        ("instructions", card.instructions_sha256, got.instructions_sha256),
        ("prompt", card.probe_prompt_sha256, got.prompt_sha256),
        ("output schema", card.schema_sha256, got.schema_sha256)) if want != have]
    if differs:
        raise InputError(card_path, f"prompt pin mismatch: the pipeline the adapter would be evaluated with now "
                                    f"sends different {', '.join(differs)} than the training data was rendered "
                                    f"with (card {card.instructions_sha256[:12] if card.instructions_sha256 else '-'}"
                                    f"…/{card.probe_prompt_sha256[:12]}…, pipeline {got.instructions_sha256[:12]}…/"
                                    f"{got.prompt_sha256[:12]}…): rebuild the data with `train data sft` and "
                                    f"retrain, or register it against the pipeline it was trained for")
    return got
