"""Attacks a pipeline might try; each must fail inside the sandbox or be flagged by the leak check.
Controls run the same attack with sandbox="none" to show the test would notice a hole."""

from __future__ import annotations

import json
import os
import socket

import pytest

from loop.sandbox.confine import ENV_ALLOW
from loop.sandbox.leak import gold_leak
from loop.sandbox.session import PipelineSession
from loop.schemas import Answer

from .conftest import REPO

READ = '''
from pathlib import Path

def generate(task, model):
    data = Path({target!r}).read_text()
    return {{"title": f"read {{len(data)}} chars", "questions": [f"Question {{i}}?" for i in range(7)]}}
'''
REAL_RULER_FILE = next(p for p in (REPO / "ruler" / "tasks.jsonl", REPO / "ruler" / "gates.toml") if p.exists())


def _fake_repo_workspace(make_workspace, pipeline: str):
    """A workspace with a sibling ruler/ like in a real checkout (worktree) of the repo."""
    workspace = make_workspace(pipeline=pipeline)
    (workspace.parent / "ruler").mkdir()
    (workspace.parent / "ruler" / "tasks.jsonl").write_text('{"id": "r1", "task": "secret gold"}\n')
    return workspace


def _run(workspace, client, sandbox, task="Plan a trip to Paris"):
    with PipelineSession(workspace, client, case_timeout_s=20, sandbox=sandbox) as session:
        return session.run_case(task)


@pytest.mark.parametrize("target", ["../ruler/tasks.jsonl", str(REAL_RULER_FILE), "link_to_ruler"])
def test_reading_the_ruler_fails_in_the_sandbox(make_workspace, replay_client, target):
    workspace = _fake_repo_workspace(make_workspace, READ.format(target=target))
    (workspace / "link_to_ruler").symlink_to(REAL_RULER_FILE)
    confined = _run(workspace, replay_client, "bwrap")
    assert confined.answer is None and confined.error.startswith("pipeline raised FileNotFoundError"), confined.error
    unconfined = _run(workspace, replay_client, "none")  # control: the attack works without the sandbox
    assert unconfined.error is None and unconfined.answer.title.startswith("read ")


def test_the_workspace_is_read_only_in_the_sandbox(make_workspace, replay_client):
    pipeline = '''
from pathlib import Path

def generate(task, model):
    (Path(__file__).parent / "pipeline.toml").write_text("tampered")
    return {"title": "t", "questions": [f"Q{i}?" for i in range(7)]}
'''
    workspace = make_workspace(pipeline=pipeline)
    result = _run(workspace, replay_client, "bwrap")
    assert result.error.startswith("pipeline raised OSError") and "Read-only" in result.error
    assert "tampered" not in (workspace / "pipeline.toml").read_text()


def test_network_connections_fail_in_the_sandbox(make_workspace, replay_client):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        pipeline = f'''
import socket

def generate(task, model):
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    return {{"title": "connected", "questions": [f"Q{{i}}?" for i in range(7)]}}
'''
        workspace = make_workspace(pipeline=pipeline)
        confined = _run(workspace, replay_client, "bwrap")
        assert confined.answer is None and confined.error.startswith("pipeline raised"), confined.error
        assert any(word in confined.error for word in ("ConnectionRefused", "unreachable", "OSError")), confined.error
        unconfined = _run(workspace, replay_client, "none")  # control: the listener is reachable from outside
        assert unconfined.error is None and unconfined.answer.title == "connected"


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_the_worker_sees_no_secrets(make_workspace, replay_client, monkeypatch, sandbox):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-test-secret")
    pipeline = '''
import json, os

def generate(task, model):
    names = sorted(os.environ)
    return {"title": repr(os.environ.get("ANTHROPIC_API_KEY")), "questions": [json.dumps(names)] + ["Q?"] * 6}
'''
    result = _run(make_workspace(pipeline=pipeline), replay_client, sandbox)
    assert result.error is None and result.answer.title == "None"
    names = set(json.loads(result.answer.questions[0]))
    allowed = set(ENV_ALLOW) | {"HOME", "TMPDIR", "PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONDONTWRITEBYTECODE",
                                "PYTHONHASHSEED", "OMP_NUM_THREADS", "PWD"}  # bwrap sets PWD
    assert names <= allowed, names - allowed
    assert "sk-ant-test-secret" not in result.model_dump_json()
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-test-secret"  # the parent still has it


def test_gold_smuggled_into_the_workspace_is_flagged(make_workspace, replay_client):
    gold = Answer(title="Paris trip", questions=[
        "Which city will you be flying from?", "How many people are travelling?",
        "What dates are you considering?", "What is your total budget?",
        "Which experiences matter most to you?", "Do you have mobility or dietary needs?",
        "Where would you prefer to stay?"])
    pipeline = '''
import json
from pathlib import Path

def generate(task, model):
    return json.loads((Path(__file__).parent / "data" / "notes.json").read_text())
'''
    workspace = make_workspace(pipeline=pipeline)
    (workspace / "data" / "notes.json").write_text(gold.model_dump_json())
    result = _run(workspace, replay_client, "bwrap")
    assert result.error is None  # the sandbox cannot know this file is gold...
    reason = gold_leak(result.answer, gold)
    assert reason and "7 of 7 questions copy the gold" in reason  # ...the leak check does
