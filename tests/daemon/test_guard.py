"""The daemon's own checks: a diff outside agent_workspace/, gold text in the workspace, outputs that
copy the gold, and ruler tampering each make the experiment invalid (tampering also halts)."""

from __future__ import annotations

import time
from pathlib import Path


from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.guard import GoldIndex, default_embedder, scan_for_gold
from loop.daemon.runloop import Daemon, RunOptions
from loop.ruler_files import load_cases


class EditingAgent:
    """A scripted agent: applies `edit(ctx)` to the worktree and states a hypothesis."""

    name = "scripted"

    def __init__(self, edit):
        self.edit = edit

    def run(self, ctx: AgentContext) -> AgentOutcome:
        self.edit(ctx)
        ctx.services.record_hypothesis("scripted: an edit under test", "the test's edit", "inference")
        return AgentOutcome(hypothesis="scripted: an edit under test", cost_usd=0.01, turns=3,
                            tokens={"input": 10, "output": 5}, denials=["Read ruler/tasks.jsonl"])


def run_with(repo: Path, h, agent, **options):
    config = h.config_for(repo)
    opts = dict(once=True, live=False, watch=False, handle_signals=False)
    opts.update(options)
    summary = Daemon(config, RunOptions(**opts), agent=agent).run()
    return config, summary, h.rows(config)


def gold_question(repo: Path) -> str:
    return load_cases(repo / "ruler" / "tasks.jsonl")[0].gold.questions[2]


def test_a_diff_outside_agent_workspace_is_invalid_and_names_the_paths(repo_copy, h):
    def edit(ctx):
        (ctx.worktree / "README.md").write_text("agent was here\n")
        (ctx.worktree / "ruler" / "rubric.md").write_text("easier rubric\n")
        (ctx.workspace / "prompts" / "system.md").write_text("Be brief.\n")

    config, summary, rows = run_with(repo_copy, h, EditingAgent(edit))
    row = rows[2]
    assert row.status == "invalid"
    assert "outside agent_workspace/" in row.reason and "README.md" in row.reason and "ruler/rubric.md" in row.reason
    assert row.quality is None  # never scored
    assert row.agent_cost_usd == 0.01 and row.agent_turns == 3 and row.agent_denials == ["Read ruler/tasks.jsonl"]
    assert h.trailers(repo_copy, "refs/experiments/0002")["Status"] == "invalid"
    assert "Experiment: 0002" not in h.git(repo_copy, "log", "--format=%B", "research")
    h.assert_git_clean(repo_copy)
    # the main checkout's ruler was not touched, so the loop did not halt for tampering
    assert summary.halt_reason.startswith("--once")


def test_gold_text_copied_into_the_workspace_is_invalid(repo_copy, h):
    question = gold_question(repo_copy)

    def edit(ctx):
        prompt = ctx.workspace / "prompts" / "system.md"
        prompt.write_text(prompt.read_text() + f"\nGood questions look like: {question}\n")

    _, _, rows = run_with(repo_copy, h, EditingAgent(edit))
    assert rows[2].status == "invalid"
    assert "gold text in the workspace" in rows[2].reason and "prompts/system.md" in rows[2].reason


def test_a_close_paraphrase_of_a_gold_question_is_caught_by_embedding(repo_copy):
    cases = load_cases(repo_copy / "ruler" / "tasks.jsonl")
    index = GoldIndex([(c.id, "question", q) for c in cases for q in c.gold.questions], [])
    target = repo_copy / "agent_workspace" / "notes.md"
    target.write_text("Which dates are you considering for this trip?\nKeep every question short and concrete.\n")
    assert "What dates are you considering for the trip?" in index.questions
    assert scan_for_gold(repo_copy / "agent_workspace", ["notes.md"], index, None) == []  # no shared 8-gram
    findings = scan_for_gold(repo_copy / "agent_workspace", ["notes.md"], index, default_embedder())
    assert len(findings) == 1 and "notes.md:1" in findings[0].message and "paraphrase" in findings[0].message


def test_outputs_that_copy_the_gold_are_invalid(repo_copy, h, monkeypatch):
    from loop.daemon.resources import Resources
    from loop.sandbox.session import PipelineResult

    gold = {c.task: c.gold for c in load_cases(repo_copy / "ruler" / "tasks.jsonl")}

    class GoldCopyingSession:
        """Stands in for the sandboxed pipeline of a workspace that somehow got hold of the gold."""

        mode = "none"  # the confinement evaluations record: a stand-in runs in-process, unconfined

        def __init__(self, workspace):
            self.cheat = (Path(workspace) / "cheat.txt").exists()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def run_case(self, task):
            answer = gold[task] if self.cheat else gold[task].model_copy(update={"questions": [
                f"Question {i} about {task}?" for i in range(7)]})
            return PipelineResult(answer=answer, error=None, trace=[], deterministic=True, model_calls=1,
                                  latency_ms=1.0)

    config = h.config_for(repo_copy)
    resources = Resources(config, session_factory=GoldCopyingSession)
    agent = EditingAgent(lambda ctx: (ctx.workspace / "cheat.txt").write_text("use the answers\n"))
    Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=agent,
           resources=resources).run()
    row = h.rows(config)[2]
    assert row.status == "invalid" and "near-copies of the gold" in row.reason


def test_tampering_with_the_ruler_during_an_experiment_halts_the_loop(repo_copy, h):
    def edit(ctx):
        rubric = ctx.config.ruler_dir / "rubric.md"  # the main checkout's ruler, not the worktree's
        rubric.write_text(rubric.read_text() + "\nEverything scores 5.\n")

    config, summary, rows = run_with(repo_copy, h, EditingAgent(edit), max_experiments=5, once=False)
    assert rows[2].status == "invalid" and "ruler differs from RULER.lock" in rows[2].reason
    assert "changed: rubric.md" in rows[2].reason
    assert sorted(rows) == [0, 1, 2]  # halted: no further experiment
    assert "tampering" in summary.halt_reason
    from sqlalchemy import select

    from loop.db.models import Event
    from loop.db.session import session_scope

    with session_scope(config) as db:
        halts = [e.message for e in db.scalars(select(Event).where(Event.kind == "halt"))]
    assert halts and "rubric.md" in halts[0]
    h.assert_git_clean(repo_copy)
    # and a new daemon refuses to start on a tampered ruler
    refused = h.cli(repo_copy, "run", "--once", "--no-live")
    assert refused.returncode == 2 and "differs from RULER.lock" in refused.stderr


def test_the_ruler_watch_fires_on_tampering(repo_copy):
    from loop.daemon.watchers import Watchers

    problems: list[list[str]] = []
    watchers = Watchers(repo_copy, repo_copy / "ruler", problems.append).start()
    try:
        time.sleep(0.3)
        (repo_copy / "ruler" / "notes.txt").write_text("harmless?\n")
        deadline = time.monotonic() + 10
        while not problems and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watchers.stop()
    assert problems and any("added: notes.txt" in p for p in problems[0])


def test_the_watchdog_halts_a_running_daemon_when_the_ruler_is_touched(repo_copy, h, monkeypatch):
    import threading

    from sqlalchemy import select

    from loop.db.models import Event
    from loop.db.session import session_scope

    monkeypatch.setenv("AUTORESEARCH_REPLAY_DELAY_MS", "300")  # a slow runner: a long rescore step
    config = h.config_for(repo_copy)
    daemon = Daemon(config, RunOptions(max_experiments=20, live=False, handle_signals=False))
    thread = threading.Thread(target=daemon.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and getattr(h.rows(config).get(2), "step", None) != "rescore":
            time.sleep(0.1)
        assert h.rows(config)[2].step == "rescore"
        gates = repo_copy / "ruler" / "gates.toml"
        gates.write_text(gates.read_text() + "\n# harmless-looking comment\n")
    finally:
        thread.join(timeout=180)
    assert not thread.is_alive()
    row = h.rows(config)[2]
    assert row.status == "invalid" and row.reason.startswith("abandoned in step rescore: ruler tampering detected")
    assert "changed: gates.toml" in row.reason and sorted(h.rows(config)) == [0, 1, 2]
    assert "tampering" in daemon.summary.halt_reason
    with session_scope(config) as db:
        assert [e for e in db.scalars(select(Event).where(Event.kind == "halt")) if "gates.toml" in e.message]
    h.assert_git_clean(repo_copy)
