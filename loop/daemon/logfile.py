"""The daemon's log a person can read: `<repo>/.autoresearch/logs/daemon.log`, plain timestamped lines."""

from __future__ import annotations

import logging
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"


def log_path(repo: Path) -> Path:
    return Path(repo) / ".autoresearch" / "logs" / "daemon.log"


def setup_logging(repo: Path, level: int = logging.INFO) -> Path:
    """Send the `loop` loggers to the log file (once per file; safe to call again)."""
    path = log_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("loop")
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    root.addHandler(handler)
    return path
