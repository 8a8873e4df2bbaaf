"""Notifications: every event is recorded as an `Event` row (the digest reads them), then pushed to a
webhook (JSON POST) and to the desktop, each best-effort.

A notification must never take the loop down: webhook and desktop failures are logged, not raised.
Recording the event is the one step that may raise, because a broken database is a broken record.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import subprocess
import urllib.error
import urllib.request
from typing import Any, Literal, get_args

from pydantic import BaseModel

from loop.config import Config
from loop.db.models import Event, utcnow
from loop.db.session import session_scope

log = logging.getLogger(__name__)

Kind = Literal["new_best", "invalid", "training_request", "halt", "model_line", "judge_drift", "judge_waiting",
               "agent_api_waiting"]
KINDS: tuple[str, ...] = get_args(Kind)
WEBHOOK_TIMEOUT_S = 5.0
DESKTOP_TIMEOUT_S = 5.0
TITLES = {
    "new_best": "autoresearch: new best",
    "invalid": "autoresearch: experiment invalid",
    "training_request": "autoresearch: training requested",
    "halt": "autoresearch: loop halted",
    "model_line": "autoresearch: model changed, new model line",
    "judge_drift": "autoresearch: the judge drifted",
    "judge_waiting": "autoresearch: waiting for the judge",
    "agent_api_waiting": "autoresearch: waiting for the agent's API",
}


class Notification(BaseModel):
    """The webhook body."""

    source: str = "autoresearch"
    event_id: int
    kind: Kind
    message: str
    experiment: int | None
    payload: dict[str, Any] | None
    created_at: str


def notify(config: Config, kind: Kind, message: str, payload: dict | None = None,
           *, experiment_number: int | None = None) -> int:
    """Record the event, POST it to `config.webhook_url`, show it on the desktop. Returns the event id."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; expected one of {', '.join(KINDS)}")
    if experiment_number is None and payload and isinstance(payload.get("experiment"), int):
        experiment_number = payload["experiment"]
    created = utcnow()
    with session_scope(config) as session:
        event = Event(kind=kind, message=message, payload=payload, experiment_number=experiment_number,
                      created_at=created)
        session.add(event)
        session.flush()
        event_id = event.id
    body = Notification(event_id=event_id, kind=kind, message=message, experiment=experiment_number,
                        payload=payload, created_at=created.isoformat())
    if config.webhook_url:
        post_webhook(config.webhook_url, body)
    if config.desktop_notifications:
        desktop(TITLES[kind], message)
    return event_id


def post_webhook(url: str, body: Notification, timeout_s: float = WEBHOOK_TIMEOUT_S) -> bool:
    """POST the notification as JSON. True on a 2xx answer; failures are logged."""
    data = json.dumps(body.model_dump(mode="json")).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "autoresearch"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning("webhook %s failed: %s", url, exc)
        return False
    if not ok:
        log.warning("webhook %s answered %s", url, response.status)
    return ok


def desktop_command(title: str, message: str) -> list[str] | None:
    """The command that shows a desktop notification here, or None where there is none."""
    if platform.system() == "Darwin" and shutil.which("osascript"):
        script = f"display notification {json.dumps(message)} with title {json.dumps(title)}"
        return ["osascript", "-e", script]
    notify_send = shutil.which("notify-send")
    if notify_send:
        return [notify_send, "--app-name=autoresearch", title, message]
    return None


def desktop(title: str, message: str) -> bool:
    """Show a desktop notification where possible. True when a notifier ran successfully."""
    argv = desktop_command(title, message)
    if argv is None:
        return False
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=DESKTOP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("desktop notification failed: %s", exc)
        return False
    if done.returncode != 0:
        log.warning("desktop notification failed (%s): %s", done.returncode, done.stderr.strip()[:200])
    return done.returncode == 0
