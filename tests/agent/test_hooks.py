"""The PreToolUse access policy, without the CLI: writes only in agent_workspace/, no reads of the ruler."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from loop.daemon.agents.hooks import AccessPolicy, decide, hook_output, make_pre_tool_use_hook


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    wt = tmp_path / "wt"
    (wt / "agent_workspace" / "prompts").mkdir(parents=True)
    (wt / "agent_workspace" / "prompts" / "draft.md").write_text("Draft.\n")
    (wt / "ruler").mkdir()
    (wt / "ruler" / "tasks.jsonl").write_text("{}\n")
    (wt / "ruler" / "holdout.jsonl").write_text("{}\n")
    (wt / "loop").mkdir()
    (wt / "loop" / "x.py").write_text("")
    return wt


@pytest.fixture
def policy(tree: Path, tmp_path: Path) -> AccessPolicy:
    main_ruler = tmp_path / "main" / "ruler"
    main_ruler.mkdir(parents=True)
    return AccessPolicy.for_worktree(tree, [main_ruler])


def allowed(policy, tool, **tool_input) -> bool:
    return decide(policy, tool, tool_input).allow


def test_writes_only_inside_the_workspace(policy: AccessPolicy, tree: Path) -> None:
    assert allowed(policy, "Write", file_path=str(tree / "agent_workspace" / "prompts" / "new.md"), content="x")
    assert allowed(policy, "Edit", file_path="agent_workspace/prompts/draft.md", old_string="a", new_string="b")
    assert not allowed(policy, "Write", file_path=str(tree / "ruler" / "tasks.jsonl"), content="x")
    assert not allowed(policy, "Edit", file_path=str(tree / "loop" / "x.py"), old_string="", new_string="y")
    assert not allowed(policy, "Write", file_path=str(tree / "README.md"), content="x")
    assert not allowed(policy, "Write", file_path="/etc/passwd", content="x")
    assert not allowed(policy, "MultiEdit", file_path=str(tree / "ruler" / "gates.toml"), edits=[])
    assert not allowed(policy, "NotebookEdit", notebook_path=str(tree / "ruler" / "a.ipynb"))
    # the workspace directory itself is not a file to write
    assert not allowed(policy, "Write", file_path=str(tree / "agent_workspace"), content="x")


def test_dotdot_and_symlinks_are_resolved(policy: AccessPolicy, tree: Path) -> None:
    sneaky = tree / "agent_workspace" / ".." / "ruler" / "tasks.jsonl"
    assert not allowed(policy, "Write", file_path=str(sneaky), content="x")
    assert not allowed(policy, "Read", file_path=str(sneaky))
    link = tree / "agent_workspace" / "gold.jsonl"
    os.symlink(tree / "ruler" / "tasks.jsonl", link)
    decision = decide(policy, "Read", {"file_path": str(link)})
    assert not decision.allow and "ruler" in decision.reason
    assert not allowed(policy, "Write", file_path=str(link), content="x")
    dir_link = tree / "agent_workspace" / "r"
    os.symlink(tree / "ruler", dir_link)
    assert not allowed(policy, "Read", file_path=str(dir_link / "holdout.jsonl"))
    assert not allowed(policy, "Grep", pattern="gold", path=str(dir_link))


def test_reads_inside_worktree_but_never_the_ruler(policy: AccessPolicy, tree: Path, tmp_path: Path) -> None:
    assert allowed(policy, "Read", file_path=str(tree / "loop" / "x.py"))
    assert allowed(policy, "Read", file_path=str(tree / "agent_workspace" / "prompts" / "draft.md"))
    denied = decide(policy, "Read", {"file_path": str(tree / "ruler" / "holdout.jsonl")})
    assert not denied.allow and "frozen ruler" in denied.reason
    assert not allowed(policy, "Read", file_path=str(tmp_path / "main" / "ruler" / "tasks.jsonl"))
    assert not allowed(policy, "Read", file_path="/etc/hostname")


def test_searches_may_not_reach_into_the_ruler(policy: AccessPolicy, tree: Path) -> None:
    assert allowed(policy, "Grep", pattern="coverage", path=str(tree / "agent_workspace"))
    assert allowed(policy, "Glob", pattern="agent_workspace/**/*.md")
    assert allowed(policy, "Glob", pattern="**/*.md", path=str(tree / "agent_workspace"))
    assert not allowed(policy, "Grep", pattern="coverage")  # whole worktree: would descend into ruler/
    assert not allowed(policy, "Grep", pattern="x", path=str(tree / "ruler"))
    assert not allowed(policy, "Glob", pattern="**/*.jsonl")
    assert not allowed(policy, "Glob", pattern="ruler/*")
    assert not allowed(policy, "Glob", pattern="../**/tasks.jsonl", path=str(tree / "agent_workspace"))
    assert not allowed(policy, "Grep", pattern="x", path=str(tree / "agent_workspace"), glob="../ruler/*")
    hint = decide(policy, "Grep", {"pattern": "x"})
    assert "Narrow the search" in hint.reason


def test_other_tools_denied_and_mcp_tools_allowed(policy: AccessPolicy) -> None:
    assert allowed(policy, "mcp__autoresearch__evaluate", gate="dev")
    assert not allowed(policy, "Bash", command="cat ruler/tasks.jsonl")
    assert not allowed(policy, "WebFetch", url="https://example.com")
    assert not allowed(policy, "mcp__other__read", path="x")
    assert not allowed(policy, "Write", content="no path")


def test_hook_output_shape_and_callback(policy: AccessPolicy, tree: Path) -> None:
    seen = []
    hook = make_pre_tool_use_hook(policy, lambda name, inp, d: seen.append((name, d.allow)))
    denied = asyncio.run(hook({"tool_name": "Write", "tool_input": {"file_path": str(tree / "ruler" / "x")}}, "t1", {}))
    specific = denied["hookSpecificOutput"]
    assert specific["hookEventName"] == "PreToolUse" and specific["permissionDecision"] == "deny"
    assert "agent_workspace" in specific["permissionDecisionReason"]
    ok = asyncio.run(hook({"tool_name": "Read", "tool_input": {"file_path": str(tree / "loop" / "x.py")}}, "t2", {}))
    assert ok == {} == hook_output(decide(policy, "Read", {"file_path": str(tree / "loop" / "x.py")}))
    assert seen == [("Write", False), ("Read", True)]
