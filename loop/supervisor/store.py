"""The supervisor's records: steering notes and feedback on experiments, each with who, when and text.

Every write checks its input first and changes nothing when it is bad (`SupervisorInputError`, one
clear sentence): an empty text, a text quoting gold (the agent reads it), an unknown focus, a count
below 1, an experiment or note that does not exist. The CLI (`loop/commands/supervise.py`) and the dashboard (`loop/dashboard/supervisor.py`) both
write through these functions, so the rules are the same from either seat.

A note is *active* until it was shown to `for_experiments` experiments (None: until dropped) or dropped;
the daemon marks each experiment whose agent got it (`deliver`), so expiry counts real iterations, never
a preview (`autoresearch prompt` delivers nothing).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from loop.config import Config
from loop.db.models import Experiment, ExperimentFeedback, SteeringNote, utcnow
from loop.db.session import session_scope
from loop.supervisor.families import UnknownFocus, knobs_of, parse_focus

MAX_TEXT = 4000  # characters of one note or comment


class SupervisorInputError(ValueError):
    """Bad input for a note or a comment; nothing was stored."""


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; the record writes UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class NoteView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    text: str
    focus: list[str]
    for_experiments: int | None
    shown_to: list[int]
    author: str
    created_at: datetime
    dropped_at: datetime | None = None
    dropped_by: str | None = None

    @property
    def left(self) -> int | None:
        """Experiments still to be shown the note (None: until dropped)."""
        return None if self.for_experiments is None else max(0, self.for_experiments - len(self.shown_to))

    @property
    def state(self) -> Literal["active", "expired", "dropped"]:
        if self.dropped_at is not None:
            return "dropped"
        return "expired" if self.left == 0 else "active"

    @property
    def knobs(self) -> list[str]:
        return sorted(knobs_of(self.focus))

    def public(self) -> dict:
        """The JSON shape (`steer --list --json`)."""
        return {**self.model_dump(mode="json"), "state": self.state, "left": self.left, "knobs": self.knobs}


class FeedbackView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    experiment_number: int
    text: str
    author: str
    created_at: datetime


def _text(text: str | None, what: str) -> str:
    clean = (text or "").strip()
    if not clean:
        raise SupervisorInputError(f"the {what} is empty: write what the agent should read")
    if len(clean) > MAX_TEXT:
        raise SupervisorInputError(f"the {what} has {len(clean)} characters; at most {MAX_TEXT}")
    return clean


def _no_gold(text: str, ruler_dir: Path | None, what: str) -> None:
    """The agent reads this text: refuse one that quotes a gold question of the ruler or the holdout (the
    guard's own lexical matcher, loop/daemon/guard_gold.py)."""
    if ruler_dir is None:
        return
    from loop.daemon.guard import gold_index

    hits = gold_index(Path(ruler_dir)).lexical_hits(text)
    if hits:
        raise SupervisorInputError(f"the {what} quotes gold text of case {hits[0].case_id} ({hits[0].how}); "
                                   "the agent must never read gold: describe what is missing instead")


def _ruler_dir(where: Config | str, ruler_dir: Path | None) -> Path | None:
    return ruler_dir if ruler_dir is not None else where.ruler_dir if isinstance(where, Config) else None


def check_note(text: str | None, for_experiments: int | None, focus,
               ruler_dir: Path | None = None) -> tuple[str, int | None, list[str]]:
    """The validated (text, count, focus) of a new note, or SupervisorInputError."""
    clean = _text(text, "steering note")
    _no_gold(clean, ruler_dir, "steering note")
    if for_experiments is not None and for_experiments < 1:
        raise SupervisorInputError(f"--for must be at least 1 experiment, not {for_experiments}")
    try:
        families = parse_focus(focus)
    except UnknownFocus as exc:
        raise SupervisorInputError(str(exc)) from None
    return clean, for_experiments, families


def add_note(where: Config | str, text: str | None, *, author: str, for_experiments: int | None = None,
             focus=None, ruler_dir: Path | None = None) -> NoteView:
    clean, count, families = check_note(text, for_experiments, focus, _ruler_dir(where, ruler_dir))
    with session_scope(where) as db:
        row = SteeringNote(text=clean, focus=families, for_experiments=count, shown_to=[], author=author,
                           created_at=utcnow())
        db.add(row)
        db.flush()
        return NoteView.model_validate(row)


def list_notes(where: Config | str, *, include_inactive: bool = False) -> list[NoteView]:
    with session_scope(where) as db:
        notes = [NoteView.model_validate(r) for r in db.scalars(select(SteeringNote).order_by(SteeringNote.id))]
    return notes if include_inactive else [n for n in notes if n.state == "active"]


def active_notes(where: Config | str) -> list[NoteView]:
    return list_notes(where)


def drop_note(where: Config | str, note_id: int, *, author: str, dry_run: bool = False) -> NoteView:
    """Withdraw an active note (kept in the record, marked dropped, by whom and when)."""
    with session_scope(where) as db:
        row = db.get(SteeringNote, note_id)
        if row is None:
            raise SupervisorInputError(f"there is no steering note {note_id} (see `autoresearch steer --list`)")
        view = NoteView.model_validate(row)
        if view.state != "active":
            raise SupervisorInputError(f"steering note {note_id} is already {view.state}; nothing to drop")
        if dry_run:
            return view
        row.dropped_at, row.dropped_by = utcnow(), author
        db.flush()
        return NoteView.model_validate(row)


def deliver(where: Config | str, notes: list[NoteView], number: int) -> None:
    """Experiment `number`'s agent got these notes: count it toward their expiry."""
    if not notes:
        return
    with session_scope(where) as db:
        for note in notes:
            row = db.get(SteeringNote, note.id)
            if row is not None and number not in (row.shown_to or []):
                row.shown_to = [*(row.shown_to or []), number]


def notes_shown_to(where: Config | str, number: int) -> list[NoteView]:
    return [n for n in list_notes(where, include_inactive=True) if number in n.shown_to]


def add_feedback(where: Config | str, number: int, text: str | None, *, author: str,
                 ruler_dir: Path | None = None) -> FeedbackView:
    clean = _text(text, "feedback")
    _no_gold(clean, _ruler_dir(where, ruler_dir), "feedback")
    with session_scope(where) as db:
        if db.get(Experiment, number) is None:
            raise SupervisorInputError(f"there is no experiment {number} in the record (see `autoresearch log`)")
        row = ExperimentFeedback(experiment_number=number, text=clean, author=author, created_at=utcnow())
        db.add(row)
        db.flush()
        return FeedbackView.model_validate(row)


def feedback_for(where: Config | str, numbers: list[int] | None = None) -> dict[int, list[FeedbackView]]:
    """Feedback by experiment number, oldest first (every experiment's when `numbers` is None)."""
    query = select(ExperimentFeedback).order_by(ExperimentFeedback.id)
    if numbers is not None:
        query = query.where(ExperimentFeedback.experiment_number.in_(numbers))
    found: dict[int, list[FeedbackView]] = {}
    with session_scope(where) as db:
        for row in db.scalars(query):
            found.setdefault(row.experiment_number, []).append(FeedbackView.model_validate(row))
    return found


def commented_experiments(where: Config | str, limit: int = 10) -> list[int]:
    """The `limit` experiments most recently given feedback."""
    with session_scope(where) as db:
        rows = db.execute(select(ExperimentFeedback.experiment_number).order_by(ExperimentFeedback.id.desc())).scalars()
        seen: list[int] = []
        for number in rows:
            if number not in seen:
                seen.append(number)
            if len(seen) >= limit:
                break
    return seen


__all__ = ["FeedbackView", "NoteView", "SupervisorInputError", "add_feedback", "add_note", "drop_note",
           "deliver", "feedback_for", "list_notes", "active_notes", "notes_shown_to", "check_note", "when"]
