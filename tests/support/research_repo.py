"""Turn a project copy into a research repository the daemon can run in: a git repository with the
project committed, and (optionally) the baseline measured by the daemon's own iteration, so that an
adapter registered there has an incumbent to be compared with."""

from __future__ import annotations

import os
import subprocess

GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "test",
           "GIT_COMMITTER_EMAIL": "t@localhost"}


def git_init(repo) -> None:
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "project snapshot"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def measure_baseline(config):
    from loop.daemon.iteration import Iteration
    from loop.daemon.resources import Resources

    with Resources(config) as resources:
        result = Iteration(resources, None).run()
    assert result.baseline and result.status == "kept", result
    return result
