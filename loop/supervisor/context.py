"""What an iteration's prompt is built from, gathered in one place for the daemon and for `autoresearch
prompt`: the experiment log up to (not including) this experiment, the incumbent's worst cases (its own
answers, the judge's scores and notes, never gold), its quality, the supervisor's active steering notes,
and the open and answered training requests (each answer: adapter → experiment → quality).

The daemon's iteration calls `gather` for the experiment it just claimed (then `deliver`s the notes);
`next_prompt` calls the same `gather` for the number the next iteration will claim, and renders it with
the one renderer (`loop.daemon.agents.prompt.render_for`), so what it prints is what the agent gets.
"""

from __future__ import annotations

from pydantic import BaseModel

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.agents.prompt import PromptInputs, render_for
from loop.supervisor.store import active_notes

LOG_ROWS = 15  # experiments of the log shown in the prompt (plus the most recently commented ones)


def gather(config: Config, number: int, incumbent: experiments.Incumbent) -> PromptInputs:
    from loop.daemon.requests import list_requests

    return PromptInputs(number=number, recent_log=experiments.log_markdown(config, LOG_ROWS, before=number),
                        worst_cases=incumbent.worst, failure_notes=incumbent.failure_notes,
                        best_quality=incumbent.quality,
                        steering=active_notes(config),
                        training_requests=[v for v in list_requests(config) if v.status in ("open", "answered")])


class NextPrompt(BaseModel):
    number: int
    agent: str  # the agent the config resolves to (only `claude` reads the text; the sweep honours the focus)
    prompt: str
    inputs: PromptInputs


class NoAgentPrompt(LookupError):
    """The next iteration runs no agent (the baseline is measured first)."""


def next_prompt(config: Config) -> NextPrompt:
    """The next iteration's prompt, exactly as the agent will get it (nothing is written)."""
    from sqlalchemy import func, select

    from loop.daemon.gitrecord import GitRecord
    from loop.db.models import Experiment
    from loop.db.session import session_scope
    from loop.judges import make_judge
    from loop.ruler_files import ruler_id

    rid = ruler_id(config.ruler_dir, make_judge(config).judge_id)
    tip = GitRecord(config.repo, config.research_branch).rev(f"refs/heads/{config.research_branch}")
    incumbent = experiments.incumbent(config, rid, tip) if tip else None
    if incumbent is None:
        raise NoAgentPrompt(f"no incumbent under ruler {rid[:12]} yet: the next iteration measures the baseline "
                            "and runs no agent")
    with session_scope(config) as db:
        last = db.scalar(select(func.max(Experiment.number)))
    number = 0 if last is None else last + 1
    inputs = gather(config, number, incumbent)
    return NextPrompt(number=number, agent=config.resolved_agent, prompt=render_for(config, inputs), inputs=inputs)
