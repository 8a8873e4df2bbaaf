"""The supervisor's seat from the command line (subprocesses, the real config loader) and through the real
daemon iteration (replay runner, proxy judge, the real sweep agent): a steering note and feedback reach the
iteration prompt, `prompt` prints it, a note expires after N experiments, and bad input changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from loop.daemon.agents.prompt import render_for
from loop.daemon.agents.sweep import SweepAgent
from loop.daemon.runloop import Daemon, RunOptions
from loop.db.models import ExperimentFeedback, SteeringNote
from loop.db.session import session_scope
from loop.supervisor.families import FAMILIES

AUTHOR = "ada"


def as_supervisor(repo) -> None:
    with (repo / "autoresearch.toml").open("a") as handle:
        handle.write(f'supervisor = "{AUTHOR}"\n')


def counts(config) -> tuple[int, int]:
    with session_scope(config) as db:
        return (db.scalar(select(func.count()).select_from(SteeringNote)),
                db.scalar(select(func.count()).select_from(ExperimentFeedback)))


def one_error(done, *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_steer_help_lists_every_family_with_its_knobs(repo_copy, h):
    shown = h.cli(repo_copy, "steer", "--help")
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    for family in FAMILIES.values():
        assert f"{family.name} knobs: {', '.join(family.knobs) or '(none'}" in text, family.name


def test_bad_input_is_one_error_and_changes_nothing(repo_copy, h):
    as_supervisor(repo_copy)
    config = h.config_for(repo_copy)
    one_error(h.cli(repo_copy, "steer", "   "), "empty")
    one_error(h.cli(repo_copy, "steer"), "empty")
    one_error(h.cli(repo_copy, "steer", "look at retrieval", "--focus", "retrievl"), "retrievl", "retrieval")
    one_error(h.cli(repo_copy, "steer", "look at retrieval", "--for", "0"), "--for")
    one_error(h.cli(repo_copy, "feedback", "99", "that was noise"), "no experiment 99")
    one_error(h.cli(repo_copy, "feedback", "1", ""), "empty")
    one_error(h.cli(repo_copy, "steer", "--drop", "7"), "no steering note 7")
    one_error(h.cli(repo_copy, "steer", "text", "--list"), "TEXT and --list")
    assert counts(config) == (0, 0)


def test_steer_list_drop_and_feedback_are_recorded_with_who_and_when(repo_copy, h):
    as_supervisor(repo_copy)
    config = h.config_for(repo_copy)
    made = h.cli(repo_copy, "steer", "Few-shot examples next.", "--for", "2", "--focus", "retrieval,cleanup",
                 "--json")
    assert made.returncode == 0, made.stderr
    note = json.loads(made.stdout)
    assert (note["author"], note["focus"], note["for_experiments"], note["left"], note["state"]) == (
        AUTHOR, ["retrieval", "cleanup"], 2, 2, "active")
    assert note["knobs"] == ["dedupe_threshold", "n_examples", "overgenerate"] and note["created_at"]
    listed = json.loads(h.cli(repo_copy, "steer", "--list", "--json").stdout)
    assert [n["id"] for n in listed] == [note["id"]]
    dry = h.cli(repo_copy, "steer", "--drop", str(note["id"]), "--dry-run")
    assert dry.returncode == 0 and "would drop" in dry.stderr
    assert [n["state"] for n in json.loads(h.cli(repo_copy, "steer", "--list", "--json").stdout)] == ["active"]
    assert h.cli(repo_copy, "steer", "--drop", str(note["id"])).returncode == 0
    assert json.loads(h.cli(repo_copy, "steer", "--list", "--json").stdout) == []
    (gone,) = json.loads(h.cli(repo_copy, "steer", "--list", "--all", "--json").stdout)
    assert gone["state"] == "dropped" and gone["dropped_by"] == AUTHOR and gone["dropped_at"]
    one_error(h.cli(repo_copy, "steer", "--drop", str(note["id"])), "already dropped")

    said = h.cli(repo_copy, "feedback", "1", "The temperature move was within the noise.", "--json")
    assert said.returncode == 0, said.stderr
    feedback = json.loads(said.stdout)
    assert (feedback["experiment_number"], feedback["author"]) == (1, AUTHOR) and feedback["created_at"]
    assert counts(config) == (1, 1)


def test_prompt_prints_the_note_at_the_top_and_the_feedback_beside_its_experiment(repo_copy, h):
    as_supervisor(repo_copy)
    assert h.cli(repo_copy, "feedback", "1", "The temperature move was within the noise.").returncode == 0
    assert h.cli(repo_copy, "steer", "Try few-shot retrieval next.", "--focus", "retrieval").returncode == 0
    plain = h.cli(repo_copy, "prompt")
    assert plain.returncode == 0, plain.stderr
    text = plain.stdout
    assert text.startswith("# Experiment 0002\n\n## The supervisor's steering")
    top = text.index("Try few-shot retrieval next.")
    assert top < text.index("Your working directory") < text.index("## Recent experiments")
    assert f"from {AUTHOR}" in text and "until withdrawn" in text and "`retrieval`" in text and "n_examples" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| 1 |")]
    assert row.endswith("The temperature move was within the noise. |") and f"{AUTHOR} (" in row
    assert "| 2 |" not in text  # the experiment the prompt is for is not in its own log
    as_json = json.loads(h.cli(repo_copy, "prompt", "--json").stdout)
    assert as_json["prompt"] == text and as_json["number"] == 2 and as_json["focus"] == ["retrieval"]
    # a preview delivers nothing: the note has not started to expire
    (note,) = json.loads(h.cli(repo_copy, "steer", "--list", "--json").stdout)
    assert note["shown_to"] == []


class RecordingSweep(SweepAgent):
    """The real sweep agent, keeping the prompt each iteration would have given a Claude agent."""

    def __init__(self, config):
        super().__init__(config)
        self.seen: dict[int, tuple[list[str], str]] = {}

    def run(self, ctx):
        self.seen[ctx.number] = (ctx.focus, render_for(ctx.config, ctx.prompt_inputs()))
        return super().run(ctx)


def test_a_note_reaches_n_iterations_then_expires_and_the_sweep_honours_its_focus(repo_copy, h):
    as_supervisor(repo_copy)
    made = h.cli(repo_copy, "steer", "Only few-shot retrieval for now.", "--for", "2", "--focus", "retrieval",
                 "--json")
    note_id = json.loads(made.stdout)["id"]
    config = h.config_for(repo_copy)
    agent = RecordingSweep(config)
    Daemon(config, RunOptions(max_experiments=3, live=False, watch=False, handle_signals=False), agent=agent).run()
    rows = h.rows(config)
    assert sorted(agent.seen) == [2, 3, 4], {n: (r.status, r.reason) for n, r in rows.items()}
    for number in (2, 3):
        focus, prompt = agent.seen[number]
        assert focus == ["retrieval"] and "Only few-shot retrieval for now." in prompt
        assert "Narrowed by the supervisor's focus (retrieval) to n_examples." in rows[number].method
        assert "varying n_examples from" in rows[number].method
        moved = rows[number].hypothesis.removeprefix("sweep: ")
        assert moved == "no knob moved" or (moved.startswith("n_examples ") and "," not in moved), moved
    assert "2 experiment(s) left, this one included" in agent.seen[2][1]
    assert "1 experiment(s) left, this one included" in agent.seen[3][1]
    focus, prompt = agent.seen[4]
    assert focus == [] and "Only few-shot retrieval" not in prompt and "supervisor's steering" not in prompt
    assert "Narrowed" not in rows[4].method
    (note,) = json.loads(h.cli(repo_copy, "steer", "--list", "--all", "--json").stdout)
    assert (note["id"], note["state"], note["shown_to"], note["left"]) == (note_id, "expired", [2, 3], 0)
