"""The research agent's file-access policy, as a pure function plus a thin PreToolUse hook.

Claude Code runs as root here, so its own permission modes are not a fence we can lean on: every
tool call passes through `decide()` first. The rules:

- writes (Write, Edit, MultiEdit, NotebookEdit) only inside `<worktree>/agent_workspace/`;
- reads (Read, Glob, Grep) only inside the worktree, and never inside a protected path
  (`<worktree>/ruler/`, which holds the gold and the holdout, plus any extra protected path such as
  the main repository's `ruler/`). A Glob or Grep whose search would descend into a protected
  directory (e.g. a Grep over the worktree root) is denied with a hint to narrow the path;
- the daemon's MCP tools (`mcp__autoresearch__*`) are allowed; every other tool is denied.

Paths are resolved the way the OS would: relative to the worktree, `..` collapsed and symlinks
followed (`os.path.realpath`), so a link inside the workspace that points at the ruler is a read
of the ruler.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict

WRITE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path", "NotebookEdit": "notebook_path"}
READ_TOOLS = {"Read": "file_path", "NotebookRead": "notebook_path"}
SEARCH_TOOLS = {"Glob", "Grep"}
HARMLESS_TOOLS = {"TodoWrite"}
MCP_PREFIX = "mcp__autoresearch__"
GLOB_CHARS = set("*?[{")


class Decision(BaseModel):
    """The hook's verdict on one tool call: allowed, or denied with a reason the agent can act on."""

    model_config = ConfigDict(frozen=True)
    allow: bool
    reason: str = ""


class AccessPolicy(BaseModel):
    """Where the agent may read and write. Build with `AccessPolicy.for_worktree(...)`."""

    model_config = ConfigDict(frozen=True)
    worktree: Path
    workspace: Path
    protected: tuple[Path, ...]

    @classmethod
    def for_worktree(cls, worktree: Path | str, extra_protected: Iterable[Path | str] = ()) -> "AccessPolicy":
        root = Path(os.path.realpath(worktree))
        protected = [root / "ruler", *(Path(os.path.realpath(p)) for p in extra_protected)]
        return cls(worktree=root, workspace=root / "agent_workspace", protected=tuple(protected))

    def resolve(self, raw: str) -> Path:
        path = Path(os.path.expanduser(raw))
        if not path.is_absolute():
            path = self.worktree / path
        return Path(os.path.realpath(path))

    def protected_hit(self, path: Path) -> Path | None:
        return next((p for p in self.protected if _within(path, p)), None)


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _deny(reason: str) -> Decision:
    return Decision(allow=False, reason=reason)


ALLOW = Decision(allow=True)


def decide(policy: AccessPolicy, tool_name: str, tool_input: dict[str, Any]) -> Decision:
    """Allow or deny one tool call under the policy. Pure: touches the file system only to resolve links."""
    if tool_name.startswith(MCP_PREFIX) or tool_name in HARMLESS_TOOLS:
        return ALLOW
    if tool_name in WRITE_TOOLS:
        return _decide_write(policy, tool_name, tool_input.get(WRITE_TOOLS[tool_name]))
    if tool_name in READ_TOOLS:
        return _decide_read(policy, tool_name, tool_input.get(READ_TOOLS[tool_name]))
    if tool_name in SEARCH_TOOLS:
        return _decide_search(policy, tool_name, tool_input)
    return _deny(f"{tool_name} is not available to the research agent; use Read, Write, Edit, Glob, Grep "
                 "and the autoresearch tools.")


def _decide_write(policy: AccessPolicy, tool: str, raw: Any) -> Decision:
    if not isinstance(raw, str) or not raw:
        return _deny(f"{tool} needs a file path.")
    path = policy.resolve(raw)
    if _within(path, policy.workspace) and path != policy.workspace and policy.protected_hit(path) is None:
        return ALLOW
    return _deny(f"{tool} denied: {raw} resolves to {path}, outside {policy.workspace}/. "
                 "You may change files under agent_workspace/ only; the ruler and the daemon are frozen.")


def _decide_read(policy: AccessPolicy, tool: str, raw: Any) -> Decision:
    if not isinstance(raw, str) or not raw:
        return _deny(f"{tool} needs a file path.")
    return _check_readable(policy, tool, raw, policy.resolve(raw))


def _check_readable(policy: AccessPolicy, tool: str, raw: str, path: Path) -> Decision:
    hit = policy.protected_hit(path)
    if hit is not None:
        return _deny(f"{tool} denied: {raw} is inside {hit}/, the frozen ruler (gold answers and holdout). "
                     "Its contents are never shown to the agent; use the evaluate tool for feedback.")
    if not _within(path, policy.worktree):
        return _deny(f"{tool} denied: {raw} resolves to {path}, outside the experiment's worktree {policy.worktree}/.")
    return ALLOW


def _decide_search(policy: AccessPolicy, tool: str, tool_input: dict[str, Any]) -> Decision:
    raw_root = tool_input.get("path") or str(policy.worktree)
    if not isinstance(raw_root, str):
        return _deny(f"{tool} needs `path` as a string.")
    root = policy.resolve(raw_root)
    verdict = _check_readable(policy, tool, raw_root, root)
    if not verdict.allow:
        return verdict
    if tool == "Glob":
        pattern = tool_input.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            return _deny("Glob needs a pattern.")
        root, raw_root = _glob_base(policy, root, pattern), f"{raw_root} + {pattern}"
        verdict = _check_readable(policy, tool, raw_root, root)
        if not verdict.allow:
            return verdict
    elif tool_input.get("glob") and ".." in str(tool_input.get("glob")):
        return _deny("Grep denied: `glob` may not climb out of the search path with '..'.")
    covering = [p for p in policy.protected if root in p.parents]
    if covering:
        return _deny(f"{tool} denied: searching {root} would descend into {covering[0]}/, the frozen ruler. "
                     f"Narrow the search, e.g. path={policy.workspace}.")
    return ALLOW


def _glob_base(policy: AccessPolicy, root: Path, pattern: str) -> Path:
    """The deepest directory a glob pattern names literally (the part before its first wildcard)."""
    literal: list[str] = []
    for part in Path(pattern).parts:
        if GLOB_CHARS & set(part):
            break
        literal.append(part)
    if not literal:
        return root
    base = Path(*literal)
    return Path(os.path.realpath(base if base.is_absolute() else root / base))


def hook_output(decision: Decision) -> dict[str, Any]:
    """The JSON a PreToolUse hook returns: {} (no opinion, normal permission flow) or an explicit deny."""
    if decision.allow:
        return {}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": decision.reason,
        }
    }


def make_pre_tool_use_hook(policy: AccessPolicy, on_decision=None):
    """An async PreToolUse callback for `HookMatcher(hooks=[...])` enforcing the policy.

    `on_decision(tool_name, tool_input, decision)` is called for every call (for logging/denial counts).
    """

    async def pre_tool_use(hook_input: dict[str, Any], tool_use_id: str | None, context: Any) -> dict[str, Any]:
        tool_name = str(hook_input.get("tool_name", ""))
        tool_input = hook_input.get("tool_input") or {}
        decision = decide(policy, tool_name, tool_input if isinstance(tool_input, dict) else {})
        if on_decision is not None:
            on_decision(tool_name, tool_input, decision)
        return hook_output(decision)

    return pre_tool_use
