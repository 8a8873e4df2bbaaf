"""Confinement settings: the environment allow-list, the bwrap mounts, the fallback when bwrap is
missing, the macOS profile text (not executable here), and the sandbox benchmark's figures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from loop.sandbox import confine

from .conftest import REPO


def test_worker_env_is_built_from_an_allow_list(monkeypatch, tmp_path):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "secret")
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = confine.worker_env(tmp_path, pythonpath=[REPO])
    assert "ANTHROPIC_API_KEY" not in env and "GITHUB_TOKEN" not in env
    assert env["HOME"] == str(tmp_path) and env["PYTHONPATH"] == str(REPO) and env["LANG"] == "C.UTF-8"


def test_bwrap_mounts_the_workspace_and_loop_but_never_the_repo_or_ruler(tmp_path):
    workspace = tmp_path / "agent_workspace"
    argv = confine.bwrap_argv(workspace, Path("/tmp/home"))
    assert "--unshare-all" in argv and "--die-with-parent" in argv
    binds = [argv[i + 2] for i, a in enumerate(argv) if a in ("--ro-bind", "--ro-bind-try", "--bind")]
    assert str(workspace) in binds and str(REPO / "loop") in binds
    assert "--bind" not in argv  # nothing is mounted writable
    assert str(REPO) not in binds and not any("ruler" in b for b in binds)
    assert not any(Path(b) in (Path("/"), Path("/work"), Path("/root")) for b in binds)


def test_without_bwrap_auto_refuses_unless_unconfined_is_passed(monkeypatch, caplog):
    monkeypatch.setattr(confine, "_bwrap_works", lambda: (False, "bwrap cannot create a sandbox here: no userns"))
    monkeypatch.setattr(confine.platform, "system", lambda: "Linux")
    with pytest.raises(confine.UnconfinedRefused) as refused:
        confine.resolve_mode("auto")
    message = str(refused.value)
    assert "no userns" in message and "--unconfined" in message
    assert "kernel.unprivileged_userns_clone=1" in message and "apparmor_restrict_unprivileged_userns" in message
    assert "ruler/" in message and "network" in message  # says what is lost
    with caplog.at_level(logging.WARNING, logger="loop.sandbox.confine"):
        assert confine.resolve_mode("auto", allow_unconfined=True) == "none"
    assert "NO SANDBOX (--unconfined)" in caplog.text and "no userns" in caplog.text
    with pytest.raises(confine.SandboxUnavailable, match="no userns"):
        confine.resolve_mode("bwrap", allow_unconfined=True)  # an explicit sandbox never degrades


def test_none_is_warned_as_debugging_only(caplog):
    with caplog.at_level(logging.WARNING, logger="loop.sandbox.confine"):
        assert confine.resolve_mode("none") == "none"
    assert "SANDBOX DISABLED" in caplog.text


def test_sandbox_benchmark_reports_overhead(capsys):
    from bench.bench_sandbox import main

    main(cases=5)
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["sandbox_mode"] == "bwrap"
    assert float(lines["sandbox_overhead_ms_per_case"]) < 50


# --- the macOS profile, checked as data (sandbox-exec cannot run on Linux) -----------------------------
# Paths relative to a layout root that a pipeline must never read (and never write), kept HERE rather
# than taken from loop/sandbox/seatbelt.py, so that loosening the generator cannot loosen the test.
MUST_NOT_READ = [
    "repo/.git/config", "repo/.git", "repo/db/autoresearch.sqlite", "repo/ruler/cases.jsonl", "repo/ruler",
    "repo/tests/conftest.py", "repo/autoresearch.toml", "userhome/.ssh/id_ed25519", "userhome/.aws/credentials",
    "userhome/notes.txt", "userhome/Documents/x", "elsewhere/secret",
]
MUST_NOT_WRITE = MUST_NOT_READ + [
    "repo/loop/evaluate.py", "repo/loop/new.py", "repo/agent_workspace/pipeline.py", "repo/agent_workspace/new.py",
    "repo/new-file", "repo/models/x.gguf", "python/lib/site.py", "userhome/new",
]
MUST_READ = ["repo/agent_workspace/pipeline.py", "repo/loop/evaluate.py", "python/lib/site.py",
             "repo/models/minilm/model.bin", "scratch/tmp1", "/usr/lib/libSystem.B.dylib"]
MUST_WRITE = ["scratch/tmp1", "scratch/deep/er"]


def _layout(root: Path, *, workspace: str = "repo/agent_workspace"):
    from loop.sandbox import seatbelt

    return seatbelt.Layout(repo=root / "repo", workspace=root / workspace, home=root / "scratch",
                           user_home=root / "userhome", python_dirs=(root / "python",),
                           python_executables=(root / "python/bin/python3.11",), loop_package=root / "repo/loop",
                           models=root / "repo/models")


def _parse(profile: str) -> list[list]:
    """The SBPL text back into nested lists (strings unquoted)."""
    import re

    stack: list[list] = [[]]
    for token in re.findall(r'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+', profile):
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token[1:-1].replace('\\"', '"').replace("\\\\", "\\") if token.startswith('"') else token)
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0]


READ_OPS, WRITE_OPS = {"file-read*", "file-read-data", "file*"}, {"file-write*", "file-write-data", "file*"}


def _matches(rule: list, kind: set[str], path: Path) -> bool:
    ops = [x for x in rule[1:] if isinstance(x, str)]
    filters = [x for x in rule[1:] if isinstance(x, list)]
    if not (set(ops) & kind or "default" in ops):
        return False
    if not filters:
        return True
    for f in filters:
        assert f[0] in ("subpath", "literal"), f"filter {f[0]!r}: the test only reasons about subpath/literal"
        target = Path(f[1])
        if path == target or (f[0] == "subpath" and path.is_relative_to(target)):
            return True
    return False


def _decision(rules: list[list], kind: set[str], path: Path) -> str:
    """Seatbelt semantics: the last matching rule wins."""
    decision = None
    for rule in rules:
        if _matches(rule, kind, path):
            decision = rule[0]
    return decision or "deny"


def _check_profile(profile: str, root: Path) -> None:
    forms = _parse(profile)
    assert forms[0] == ["version", "1"]
    rules = forms[1:]
    assert rules[0] == ["deny", "default"], "the profile must deny by default"
    assert ["allow", "default"] not in rules
    allows = [r for r in rules if r[0] == "allow"]
    assert not any(op.startswith("network") for r in allows for op in r[1:] if isinstance(op, str))
    assert ["deny", "network*"] in rules
    for rel in MUST_NOT_READ:
        path = root / rel
        assert _decision(rules, READ_OPS, path) == "deny", f"{rel} readable"
        assert not any(_matches(r, READ_OPS, path) for r in allows), f"an allow rule reaches {rel} (read)"
    for rel in MUST_NOT_WRITE:
        path = root / rel
        assert _decision(rules, WRITE_OPS, path) == "deny", f"{rel} writable"
        assert not any(_matches(r, WRITE_OPS, path) for r in allows), f"an allow rule reaches {rel} (write)"
    for rel in MUST_READ:
        assert _decision(rules, READ_OPS, root / rel) == "allow", f"{rel} must stay readable"
    for rel in MUST_WRITE:
        assert _decision(rules, WRITE_OPS, root / rel) == "allow", f"{rel} must stay writable"
    exec_rules = [r for r in allows if "process-exec" in r]
    assert exec_rules and all(f[0] == "literal" for r in exec_rules for f in r[1:] if isinstance(f, list))


def test_generated_profile_denies_every_forbidden_path(tmp_path):
    from loop.sandbox import seatbelt

    _check_profile(seatbelt.render(seatbelt.profile_rules(_layout(tmp_path))), tmp_path)


def test_worktree_layout_hides_the_worktrees_ruler_and_git(tmp_path):
    from loop.sandbox import seatbelt

    profile = seatbelt.render(seatbelt.profile_rules(_layout(tmp_path, workspace="wt/agent_workspace")))
    rules = _parse(profile)[1:]
    for rel in ("wt/ruler/cases.jsonl", "wt/.git", "wt/db/x", "wt/tests/t.py"):
        assert _decision(rules, READ_OPS, tmp_path / rel) == "deny", rel
    assert _decision(rules, READ_OPS, tmp_path / "wt/agent_workspace/pipeline.py") == "allow"


@pytest.mark.parametrize("loosen", ["repo-read", "workspace-parent", "allow-default", "network", "home-read"])
def test_the_check_fails_when_a_rule_is_loosened(tmp_path, loosen):
    """Each loosening of the generated text is caught by the same check the shipped profile passes."""
    from loop.sandbox import seatbelt

    profile = seatbelt.render(seatbelt.profile_rules(_layout(tmp_path)))
    extra = {"repo-read": f'(allow file-read* (subpath "{tmp_path / "repo"}"))',
             "workspace-parent": f'(allow file-write* (subpath "{tmp_path / "repo"}"))',
             "allow-default": "(allow default)",
             "network": "(allow network-outbound)",
             "home-read": f'(allow file-read-data (subpath "{tmp_path / "userhome"}"))'}[loosen]
    lines = profile.splitlines()
    loosened = "\n".join(lines[:-1] + [extra] + lines[-1:]) if loosen == "home-read" else profile + extra + "\n"
    with pytest.raises(AssertionError):
        _check_profile(loosened, tmp_path)


def test_a_layout_that_would_expose_the_repo_is_refused(tmp_path):
    from loop.sandbox import seatbelt

    with pytest.raises(ValueError, match="would expose"):
        seatbelt.profile_rules(_layout(tmp_path, workspace="repo"))  # workspace = repository root


def test_shipped_profile_for_this_checkout(tmp_path):
    """The profile confine.py writes for the real repository and interpreter passes the same checks."""
    profile = confine.sandbox_exec_profile(REPO / "agent_workspace", tmp_path / "home")
    rules = _parse(profile)[1:]
    assert rules[0] == ["deny", "default"]
    for rel in (".git/HEAD", "ruler", "db", "tests/conftest.py"):
        assert _decision(rules, READ_OPS, REPO.resolve() / rel) == "deny", rel
    for rel in ("loop/evaluate.py", "agent_workspace/pipeline.py"):
        assert _decision(rules, WRITE_OPS, REPO.resolve() / rel) == "deny", rel
        assert _decision(rules, READ_OPS, REPO.resolve() / rel) == "allow", rel
    assert _decision(rules, WRITE_OPS, (tmp_path / "home").resolve() / "scratch") == "allow"
