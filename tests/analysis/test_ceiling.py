"""`autoresearch analyze ceiling`: each cloud model as the candidate through the identical harness (the cloud
runner against the scripted Anthropic-compatible server, the proxy judge), stored as reference evaluations,
never on the on-device leaderboard (status, the dashboard's data); bad input refused, nothing recorded."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from tests.support.anthropic_server import ScriptedAnthropicServer

from ..daemon.conftest import fresh_copy
from ..dashboard.webget import get
from .cloud_script import STRONG, WEAK, reply
from .conftest import cli, rows

MODELS = f"{WEAK},{STRONG}"


@dataclass
class Ceiling:
    repo: Path
    run: object  # the CompletedProcess of `analyze ceiling --json`
    requests: list[dict]
    before: dict
    after: dict


def leaderboard(repo: Path) -> dict:
    """What the on-device leaderboard shows: `status`, the dashboard's /api/data, the experiment rows."""
    url = f"sqlite:///{repo.parent / 'record.sqlite'}"
    server = BackgroundServer(create_app(url, repo / "ruler", allowed_hosts=allowed_hosts("127.0.0.1"))).start()
    try:
        status, _, text = get(server.url + "/api/data")
    finally:
        server.stop()
    assert status == 200, text
    shown = cli(repo, "status")
    assert shown.returncode == 0, shown.stderr
    # the workers' heartbeat age is the one part of `status` that moves with the clock alone
    return {"data": json.loads(text), "status": re.sub(r"\(\d+ s ago\)", "(N s ago)", shown.stdout),
            "experiments": rows(repo, "select number, status, quality, gate from experiments order by number")}


@pytest.fixture(scope="module")
def ceiling(researched: Path, tmp_path_factory) -> Ceiling:
    repo = fresh_copy(researched, tmp_path_factory.mktemp("ceiling"))
    before = leaderboard(repo)
    with ScriptedAnthropicServer(reply) as server:
        run = cli(repo, "analyze", "ceiling", "--models", MODELS, "--gate", "dev", "--json",
                  env={"ANTHROPIC_BASE_URL": server.base_url})
        requests = list(server.requests)
    return Ceiling(repo, run, requests, before, leaderboard(repo))


def test_each_cloud_model_is_the_candidate_in_the_same_harness(ceiling):
    assert ceiling.run.returncode == 0, ceiling.run.stderr
    table = json.loads(ceiling.run.stdout)
    labels = [(r["label"], r["where"], r["gate"]) for r in table["rows"]]
    assert labels == [("on-device best (experiment 0000)", "on-device", "dev"), (WEAK, "cloud", "dev"),
                      (STRONG, "cloud", "dev")]
    for row in table["rows"]:
        assert row["wins"] + row["ties"] + row["losses"] == row["cases"] == 10  # the dev gate's cases
        assert row["coverage"] == row["dims"]["coverage"]
    weak, strong = table["rows"][1], table["rows"][2]
    assert strong["quality"] > weak["quality"]  # only the model changed, and the scores say so
    # the identical harness: the workspace's own prompt, instructions and schema went to each model
    system = (ceiling.repo / "agent_workspace" / "prompts" / "system.md").read_text().strip()
    by_model = {}
    for body in ceiling.requests:
        by_model.setdefault(body["model"], []).append(body)
    assert sorted(by_model) == sorted([WEAK, STRONG]) and all(len(v) == 10 for v in by_model.values())
    for body in ceiling.requests:
        assert body["system"].strip() == system
        assert body["output_config"]["format"]["schema"]["properties"]["questions"]["minItems"] == 7
        assert "clarifying questions" in body["messages"][0]["content"]


def test_cloud_runs_are_stored_as_reference_evaluations_under_the_same_ruler(ceiling):
    table = json.loads(ceiling.run.stdout)
    ruler = rows(ceiling.repo, "select ruler_id from experiments where number = 0")[0][0]
    assert table["ruler_id"] == ruler and len(table["evaluated"]) == 2
    for row, model in zip(table["rows"][1:], (WEAK, STRONG)):
        stored = rows(ceiling.repo, "select kind, experiment_number, runner_backend, runner_model, ruler_id, gate, "
                      f"quality, wins, ties, losses from evaluations where id = {row['evaluation_id']}")[0]
        assert stored == ("reference", None, "cloud", model, ruler, "dev", row["quality"], row["wins"], row["ties"],
                          row["losses"])
    assert sorted(table["evaluated"]) == sorted(r["evaluation_id"] for r in table["rows"][1:])


def test_reference_runs_are_never_on_the_on_device_leaderboard(ceiling):
    assert ceiling.run.returncode == 0, ceiling.run.stderr
    before, after = ceiling.before["data"].pop("references"), ceiling.after["data"].pop("references")
    assert ceiling.after == ceiling.before  # the references' one place on the dashboard is its reference lines:
    assert before == [] and [(r["model"], r["gate"]) for r in after] == [(WEAK, "dev"), (STRONG, "dev")]
    assert "best: experiment 0000" in ceiling.after["status"]
    assert ceiling.after["data"]["points"]["number"] == [0, 1]


def test_the_table_reads_like_the_seeds(repo):
    with ScriptedAnthropicServer(reply) as server:
        shown = cli(repo, "analyze", "ceiling", "--models", STRONG, "--gate", "dev",
                    env={"ANTHROPIC_BASE_URL": server.base_url})
    assert shown.returncode == 0, shown.stderr
    for header in ("candidate", "where", "quality", "coverage", "W/T/L"):
        assert header in shown.stdout
    assert "on-device" in shown.stdout and "cloud" in shown.stdout
    assert f"ceiling: {STRONG} as the candidate (1 of 1), dev gate" in shown.stderr  # progress


@pytest.mark.parametrize("args, env, message", [
    (("--models", "gpt-4o"), True, "'gpt-4o' is not a Claude model id"),
    (("--models", " , "), True, "--models: name at least one cloud model"),
    (("--models", STRONG, "--gate", "holdout"), True, "--gate 'holdout': the ceiling runs on the full or the dev gate"),
    (("--models", STRONG), False, "the cloud ceiling needs ANTHROPIC_API_KEY"),
])
def test_bad_input_is_one_clear_error_and_nothing_is_recorded(repo, args, env, message):
    before = rows(repo, "select count(*) from evaluations")
    with ScriptedAnthropicServer(reply) as server:
        shown = cli(repo, "analyze", "ceiling", *args, env={"ANTHROPIC_BASE_URL": server.base_url} if env else None)
        assert not server.requests
    assert shown.returncode == 2, shown.stdout
    assert message in shown.stderr and shown.stderr.count("error:") == 1, shown.stderr
    assert rows(repo, "select count(*) from evaluations") == before
