"""The supervisor's panel of an experiment page: feedback on the experiment, the steering notes its agent
read, the notes in force (each with a drop button) and a form for a new note. Every write goes through
the dashboard's one set of write rules (`loop.dashboard.writes.WriteGuard`: same origin, a single-use token
bound to the page and form that showed it, the configured author) and through the same store functions
as the CLI (`loop.supervisor.store`), so bad input is refused with the CLI's sentence and nothing stored.

    POST /experiments/N/feedback   text                     -> a comment on experiment N
    POST /steering                 text, for, focus (many)  -> a new steering note
    POST /steering/ID/drop                                  -> withdraw note ID
Each answers 303 back to the experiment page that posted it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from loop.dashboard.pages import e
from loop.dashboard.writes import WriteGuard, WriteRefused, read_form
from loop.supervisor import store
from loop.supervisor.families import FAMILIES


@dataclass(frozen=True)
class FormContext:
    """What a token was issued for: which form, on which experiment's page, for which note."""

    form: str  # feedback | steer | drop
    page: int  # the experiment page the form sits on (where the write returns to)
    note: int | None = None


class SupervisorView:
    def __init__(self, database_url: str, guard: WriteGuard, ruler_dir: Path | None = None):
        self.database_url, self.guard, self.ruler_dir = database_url, guard, ruler_dir  # ruler: the gold check

    # --- reading ------------------------------------------------------------------------------
    def panel(self, number: int) -> str:
        feedback = store.feedback_for(self.database_url, [number]).get(number, [])
        notes = store.list_notes(self.database_url, include_inactive=True)
        return panel_html(number, feedback, [n for n in notes if number in n.shown_to],
                          [n for n in notes if n.state == "active"], self.guard)

    # --- writing ------------------------------------------------------------------------------
    async def _admit(self, request: Request, form: str, **expected) -> tuple[FormContext, dict[str, list[str]]]:
        fields = await read_form(request)
        try:
            context = self.guard.admit(request, {"csrf": (fields.get("csrf") or [""])[-1]})
        except WriteRefused as exc:
            raise HTTPException(403, str(exc)) from None
        if not isinstance(context, FormContext) or context.form != form or any(
                getattr(context, k) != v for k, v in expected.items()):
            raise HTTPException(403, "the CSRF token was issued for another form: reload the page")
        return context, fields

    @staticmethod
    def _back(page: int) -> RedirectResponse:
        return RedirectResponse(f"/experiments/{page}#supervisor", status_code=303)

    async def feedback(self, request: Request):
        number = request.path_params["number"]
        context, fields = await self._admit(request, "feedback", page=number)
        try:
            store.add_feedback(self.database_url, number, _one(fields, "text"), author=self.guard.author,
                               ruler_dir=self.ruler_dir)
        except store.SupervisorInputError as exc:
            raise HTTPException(400, f"{exc}; nothing was stored") from None
        return self._back(context.page)

    async def steer(self, request: Request):
        context, fields = await self._admit(request, "steer")
        raw = _one(fields, "for").strip()
        try:
            count = int(raw) if raw else None
        except ValueError:
            raise HTTPException(400, f"`for` must be a whole number of experiments, not {raw!r}; nothing was stored")
        try:
            store.add_note(self.database_url, _one(fields, "text"), author=self.guard.author, for_experiments=count,
                           focus=fields.get("focus") or [], ruler_dir=self.ruler_dir)
        except store.SupervisorInputError as exc:
            raise HTTPException(400, f"{exc}; nothing was stored") from None
        return self._back(context.page)

    async def drop(self, request: Request):
        note_id = request.path_params["note"]
        context, _fields = await self._admit(request, "drop", note=note_id)
        try:
            store.drop_note(self.database_url, note_id, author=self.guard.author)
        except store.SupervisorInputError as exc:
            raise HTTPException(400, f"{exc}; nothing was changed") from None
        return self._back(context.page)


def _one(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name) or [""]
    return values[-1]


def _note(note: store.NoteView) -> str:
    span = "until dropped" if note.left is None else f"{note.left} experiment(s) left"
    focus = f' · focus <span class="focus">{e(", ".join(note.focus))}</span>' if note.focus else ""
    return (f'<span class="text">{e(note.text)}</span> <span class="muted">— note {note.id}, {e(note.author)}, '
            f'{e(store.when(note.created_at))} · {e(note.state)} · {e(span)}{focus}</span>')


def panel_html(number: int, feedback: list[store.FeedbackView], shown: list[store.NoteView],
               active: list[store.NoteView], guard: WriteGuard) -> str:
    items = "".join(f'<li class="feedback"><b>{e(f.author)}</b> <span class="muted">{e(store.when(f.created_at))}'
                    f'</span>: {e(f.text)}</li>' for f in feedback)
    listed = f'<ul id="feedback">{items}</ul>' if items else '<p class="muted" id="feedback-none">No feedback yet.</p>'
    read = "".join(f'<li class="note-shown">{_note(n)}</li>' for n in shown)
    drops = "".join(
        f'<li class="note-active" data-id="{n.id}">{_note(n)}<form class="drop" method="post" '
        f'action="/steering/{n.id}/drop"><input type="hidden" name="csrf" '
        f'value="{e(guard.token(FormContext("drop", number, n.id)))}"><button type="submit">drop</button></form></li>'
        for n in active)
    boxes = "".join(f'<label title="{e(f.lever)}"><input type="checkbox" name="focus" value="{e(f.name)}"> '
                    f'{e(f.name)}</label> ' for f in FAMILIES.values())
    return f"""<section class="panel two" id="supervisor"><div><h2>Supervisor's feedback</h2>{listed}
<form id="feedback-form" method="post" action="/experiments/{number}/feedback">
<input type="hidden" name="csrf" value="{e(guard.token(FormContext("feedback", number)))}">
<textarea name="text" rows="3" cols="60" maxlength="{store.MAX_TEXT}" placeholder="your comment on this hypothesis or result"></textarea>
<p><button type="submit">add feedback</button> <span class="muted">as <b class="author">{e(guard.author)}</b>;
the agent sees it beside #{number} in its experiment log.</span></p></form></div>
<div><h2>Steering</h2><h3>Notes this experiment's agent read</h3>
{f'<ul id="notes-shown">{read}</ul>' if read else '<p class="muted" id="notes-shown-none">None.</p>'}
<h3>Notes in force now</h3>
{f'<ul id="notes-active">{drops}</ul>' if drops else '<p class="muted" id="notes-active-none">None.</p>'}
<form id="steer-form" method="post" action="/steering">
<input type="hidden" name="csrf" value="{e(guard.token(FormContext("steer", number)))}">
<textarea name="text" rows="3" cols="60" maxlength="{store.MAX_TEXT}" placeholder="a note for the agent's next iterations"></textarea>
<p>for <input type="number" name="for" min="1" size="4"> experiment(s) <span class="muted">(blank: until dropped)</span></p>
<p class="families">focus: {boxes}</p>
<p><button type="submit">leave note</button></p></form></div></section>"""
