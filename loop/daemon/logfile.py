"""The daemon's log a person can read: `<repo>/.autoresearch/logs/daemon.log`, plain timestamped lines.

It rotates (the standard library's `RotatingFileHandler`): past `log_max_bytes` the file becomes
`daemon.log.1` (older ones shift up to `.N`, `log_backups` of them), so a month of nights stays bounded.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"
MAX_BYTES = 10_000_000  # Config.log_max_bytes default
BACKUPS = 5  # Config.log_backups default


def log_path(repo: Path) -> Path:
    return Path(repo) / ".autoresearch" / "logs" / "daemon.log"


def setup_logging(repo: Path, level: int = logging.INFO, *, max_bytes: int = MAX_BYTES,
                  backups: int = BACKUPS) -> Path:
    """Send the `loop` loggers to the rotating log file (once per file; a second call updates its limits)."""
    path = log_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger("loop")
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path.resolve():
            if isinstance(handler, RotatingFileHandler):
                handler.maxBytes, handler.backupCount = max_bytes, backups
                return path
            root.removeHandler(handler)  # a plain handler from an older setup: replace it
            handler.close()
            break
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    root.addHandler(handler)
    return path
