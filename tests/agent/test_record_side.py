"""Notifications, manual-training requests, the morning digest, the prompt loader and their CLI."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from loop.db.models import Event, Experiment, TrainingRequest
from loop.db.session import session_scope
from loop.daemon import notify as notify_mod
from loop.daemon.agents import prompt as prompts
from loop.daemon.digest import digest
from loop.daemon.notify import notify
from loop.daemon.requests import answer_request, create_request, list_requests, request_path
from loop.errors import InputError


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _events(config) -> list[Event]:
    with session_scope(config) as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def test_notify_records_posts_and_survives_a_dead_webhook(config, webhook, tmp_path, monkeypatch) -> None:
    log_file = tmp_path / "notify-send.log"
    fake = tmp_path / "bin" / "notify-send"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {log_file}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(notify_mod.platform, "system", lambda: "Linux")
    cfg = config.model_copy(update={"webhook_url": f"http://127.0.0.1:{webhook.server_address[1]}/hook",
                                    "desktop_notifications": True})
    event_id = notify(cfg, "new_best", "Experiment 0007 set a new best: 0.412", {"experiment": 7, "quality": 0.412})
    assert webhook.bodies == [{"source": "autoresearch", "event_id": event_id, "kind": "new_best",
                               "message": "Experiment 0007 set a new best: 0.412", "experiment": 7,
                               "payload": {"experiment": 7, "quality": 0.412},
                               "created_at": webhook.bodies[0]["created_at"]}]
    assert "autoresearch: new best" in log_file.read_text() and "0.412" in log_file.read_text()
    # a webhook nobody listens on: logged, not raised, and the event is still recorded
    dead = cfg.model_copy(update={"webhook_url": "http://127.0.0.1:9/none", "desktop_notifications": False})
    notify(dead, "halt", "budget spent")
    assert [(e.kind, e.experiment_number) for e in _events(config)] == [("new_best", 7), ("halt", None)]
    with pytest.raises(ValueError):
        notify(cfg, "lunch", "not a kind")


def _experiment(config, number: int, **fields) -> None:
    with session_scope(config) as s:
        s.add(Experiment(number=number, **fields))


def test_training_request_roundtrip(config, webhook) -> None:
    cfg = config.model_copy(update={"webhook_url": f"http://127.0.0.1:{webhook.server_address[1]}"})
    _experiment(cfg, 3, status="running")
    request_id = create_request(cfg, "orpo", "Coverage is stuck at 3 after ten prompt experiments.",
                                "Dev cases t01, t04: misses departure city.", experiment_number=3)
    path = request_path(cfg, request_id)
    text = path.read_text()
    assert path.name == f"{request_id:04d}.md"
    for expected in ("ORPO", "Status: **open**", "experiment: 0003", "Coverage is stuck", "misses departure city",
                     "adapters/inbox/", f"--answer {request_id}"):
        assert expected in text
    assert webhook.bodies[-1]["kind"] == "training_request" and webhook.bodies[-1]["experiment"] == 3
    [open_one] = list_requests(cfg, "open")
    assert (open_one.recipe, open_one.experiment_number, open_one.path) == ("orpo", 3, f"requests/{request_id:04d}.md")

    view = answer_request(cfg, request_id, "Trained orpo-1 on 160 pairs; dropped into adapters/inbox/.")
    assert view.status == "answered" and view.answered_at is not None
    assert list_requests(cfg, "open") == []
    assert "Trained orpo-1" in path.read_text() and "Status: **answered**" in path.read_text()
    with pytest.raises(LookupError):
        answer_request(cfg, 999, "x")
    with pytest.raises(ValueError):
        create_request(cfg, "rlhf", "why not", "none")


def test_digest_reports_the_night(config) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(days=3)
    dims0 = {"atomicity": 4.0, "specificity": 4.0, "coverage": 3.0, "naturalness": 4.0, "non_redundancy": 4.0}
    dims1 = {**dims0, "coverage": 3.4}
    with session_scope(config) as s:
        from loop.db.models import Ruler
        s.add(Ruler(id="a" * 64, judge_id="proxy:x", files={}))
    _experiment(config, 0, status="kept", quality=0.30, dims=dims0, ruler_id="a" * 64, started_at=long_ago, gate="full")
    _experiment(config, 1, status="kept", quality=0.34, delta=0.04, dims=dims1, ruler_id="a" * 64, gate="full",
                hypothesis="Over-generate eight then trim\nmore", agent="claude", agent_cost_usd=0.5, agent_turns=12)
    _experiment(config, 2, status="invalid", reason="gold text in agent_workspace/data/leak.jsonl",
                ruler_id="a" * 64, agent="claude", agent_cost_usd=0.25, agent_turns=4)
    _experiment(config, 3, status="crashed", reason="pipeline raised KeyError", agent="sweep")
    _experiment(config, 4, status="discarded", quality=0.31, ruler_id="a" * 64, agent="sweep")
    create_request(config, "sft", "Naturalness plateaued.", "dims at 4 for 20 runs", experiment_number=4, send=False)
    notify(config, "halt", "5 consecutive failures")
    text = digest(config, since=datetime.now(timezone.utc) - timedelta(hours=12))
    assert "Experiments: **4** (1 kept, 1 discarded, 1 invalid, 1 crashed)" in text
    assert "Best quality now: **0.340** (experiment 0001" in text and "at start: 0.300 (experiment 0000)" in text
    assert "change +0.040" in text
    assert "| coverage | 3.000 | 3.400 | +0.400 |" in text and "| atomicity | 4.000 | 4.000 | +0.000 |" in text
    assert "| 0001 | 0.340 | +0.040 | – | – | – | full | inference | Over-generate eight then trim |" in text
    assert "gold text in agent_workspace/data/leak.jsonl" in text and "pipeline raised KeyError" in text
    assert "| sft | 0004 | Naturalness plateaued." in text
    assert "$0.75 over 2 agent runs, 16 turns" in text
    assert "5 consecutive failures" in text and f"Ruler: `{'a' * 12}`" in text
    # a window with nothing in it says so instead of inventing numbers
    empty = digest(config, since=datetime.now(timezone.utc) + timedelta(hours=1))
    assert "Experiments: **0**" in empty and "None tonight." in empty


def test_iteration_prompt_renders_and_rejects_unknown_placeholders(config, tmp_path) -> None:
    text = prompts.iteration_prompt(config, 12, "| 11 | kept | 0.41 |", "- t04: misses the budget", 0.41)
    assert "# Experiment 0012" in text and "| 11 | kept | 0.41 |" in text and "misses the budget" in text
    assert "**0.410**" in text and "{{" not in text and "$2.00" in text
    empty = prompts.iteration_prompt(config, 1)
    assert prompts.EMPTY_LOG in empty and prompts.EMPTY_NOTES in empty
    program = prompts.program(config)
    assert "agent_workspace/" in program and "record_hypothesis" in program and "request_manual_training" in program
    (config.repo / "prompts").mkdir()
    (config.repo / "prompts" / "iteration.md").write_text("one\n{{experiment_number}} {{nonsense}}\n")
    with pytest.raises(InputError) as err:
        prompts.iteration_prompt(config, 1)
    assert err.value.line == 2 and "nonsense" in str(err.value)


def test_cli_requests_and_digest(config, monkeypatch) -> None:
    from loop.cli import app

    monkeypatch.setenv("AUTORESEARCH_REPO", str(config.repo))
    monkeypatch.setenv("DATABASE_URL", config.db_url)
    _experiment(config, 5, status="running")
    request_id = create_request(config, "sft", "Imitation data for phrasing.", "naturalness 3.2", 5, send=False)
    runner = CliRunner()
    listed = runner.invoke(app, ["requests"])
    assert listed.exit_code == 0, listed.output
    assert "sft" in listed.output and "open" in listed.output and "Imitation" in listed.output
    answered = runner.invoke(app, ["requests", "--answer", str(request_id), "--text", "trained sft-7"])
    assert answered.exit_code == 0, answered.output
    with session_scope(config) as s:
        row = s.get(TrainingRequest, request_id)
        assert (row.status, row.answer) == ("answered", "trained sft-7")
    missing = runner.invoke(app, ["requests", "--answer", "77", "--text", "x"])
    assert missing.exit_code == 1 and "no training request 77" in missing.output
    out = runner.invoke(app, ["digest", "--since", "2000-01-01T00:00:00"])
    assert out.exit_code == 0 and "# autoresearch digest" in out.output and "Experiments: **1**" in out.output
    bad = runner.invoke(app, ["digest", "--since", "yesterday"])
    assert bad.exit_code != 0
