"""The labelling view: one stored candidate at a time against its case's gold, shown as A and B in a
random order with authorship hidden. The person picks A / tie / B (keys a, t, b; or the buttons) and may
score the candidate's five dimensions; the label is stored with who and when, under the write rules of
`loop.dashboard.writes`. Below the form: each judge's agreement with the labels so far, for the verdict and
every rubric dimension the people scored.

    GET  /label            the next unlabelled candidate of this author, and the judges-vs-people table
    GET  /label?mode=pool  the next unlabelled training-pool draft (the dashboard's --drafts file, read by
                           the training track's own reader) against the pool's gold, the same way
    POST /label            store one label (same origin, the page's CSRF token), then 303 back to its mode

Labels on pool drafts (`source = "pool"`) are what `judge export-pairs` turns into preference pairs; labels
on ruler candidates calibrate the judges and never leave the record.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from loop.dashboard.detail import load_gold
from loop.dashboard.pages import e, fmt, layout
from loop.dashboard.writes import MAX_FORM_BYTES, WriteGuard, WriteRefused, read_form
from loop.db.models import HumanLabel
from loop.db.session import session_scope
from loop.errors import InputError
from loop.judges.human import PICKS, LabelItem, judges_vs_humans, label_count, next_unlabelled, \
    next_unlabelled_draft, parse_dims, unblind
from loop.judges.rater_agreement import RUBRIC, RaterPair
from loop.schemas import Answer, Case


def load_pool(workspace: Path, drafts: Path) -> tuple[dict[str, Case], dict[str, Answer]]:
    """The training pool's cases and the drafts file's drafts of them (the export's own reader)."""
    from loop.judges.pairs import read_drafts
    from loop.ruler_files import load_cases
    from loop.training.data import POOL

    pool = {c.id: c for c in load_cases(Path(workspace) / POOL)}
    found, _outside_pool = read_drafts(Path(drafts), pool)
    return pool, found


class LabelView:
    def __init__(self, board, database_url: str, ruler_dir: Path, guard: WriteGuard,
                 workspace: Path | None = None, drafts: Path | None = None):
        self.board, self.database_url, self.ruler_dir, self.guard = board, database_url, ruler_dir, guard
        self.workspace, self.drafts = workspace, drafts

    def _next(self, conn, pool_mode: bool) -> tuple[dict[str, Case], tuple[str, dict, str] | None]:
        if not pool_mode:
            gold, gold_error = load_gold(self.ruler_dir)
            if gold_error:
                raise HTTPException(404, f"The ruler's gold sets cannot be read: {gold_error}")
            return gold, next_unlabelled(conn, set(gold), self.guard.author)
        if self.drafts is None or self.workspace is None:
            raise HTTPException(404, "No training-pool drafts: start the dashboard with --drafts FILE "
                                     "(the JSONL of drafts, one {id, answer} a line)")
        try:
            pool, drafts = load_pool(self.workspace, self.drafts)
        except InputError as exc:  # a broken drafts or pool file: named, nothing shown or stored
            raise HTTPException(404, f"The training-pool drafts cannot be read: {exc}") from None
        return pool, next_unlabelled_draft(conn, drafts, self.guard.author)

    def page(self, request: Request):
        from loop.dashboard.app import _html

        pool_mode = request.query_params.get("mode") == "pool"
        with self.board.connect() as conn:
            gold, found = self._next(conn, pool_mode)
            mine, everyone = label_count(conn, self.guard.author), label_count(conn)
            table = judges_vs_humans(conn)
        item = None
        if found:
            case_id, candidate, key = found
            item = LabelItem(case_id=case_id, candidate=Answer.model_validate(candidate), candidate_hash=key,
                             shown_first=secrets.choice(("candidate", "gold")),
                             source="pool" if pool_mode else "ruler")
        token = self.guard.token(item) if item else ""
        return _html(label_page(item, gold.get(item.case_id).task if item else "",
                                gold[item.case_id].gold if item else None, token,
                                self.guard.author, mine, everyone, table, pool_mode))

    async def submit(self, request: Request):
        form = {k: next((x for x in reversed(v) if x), "")  # the clicked button's pick beats the empty hidden one
                for k, v in (await read_form(request, MAX_FORM_BYTES)).items()}
        try:
            item: LabelItem = self.guard.admit(request, form)
        except WriteRefused as exc:
            raise HTTPException(403, str(exc)) from None
        pick = form.get("pick", "")
        if pick not in PICKS:
            raise HTTPException(400, f"pick must be one of {', '.join(PICKS)}, not {pick!r}; nothing was stored")
        try:
            side = "A" if item.shown_first == "candidate" else "B"  # the candidate's scores, unblinded
            dims = parse_dims(form, side)
            parse_dims(form, "B" if side == "A" else "A")  # the other set's must be valid too
        except ValueError as exc:
            raise HTTPException(400, f"{exc}; nothing was stored") from None
        with session_scope(self.database_url) as db:
            db.add(HumanLabel(case_id=item.case_id, candidate=item.candidate.model_dump(),
                              candidate_hash=item.candidate_hash, source=item.source, shown_first=item.shown_first,
                              pick=pick, verdict=unblind(pick, item.shown_first), dims=dims,
                              author=self.guard.author))
        return RedirectResponse(_action(item.source == "pool"), status_code=303)


def _action(pool_mode: bool) -> str:
    return "/label?mode=pool" if pool_mode else "/label"


def _set(name: str, answer: Answer) -> str:
    items = "".join(f"<li>{e(q)}</li>" for q in answer.questions)
    return f'<section class="set" id="set-{name.lower()}"><h3>{name}: {e(answer.title)}</h3><ol>{items}</ol></section>'


def _agreement_table(table: list[RaterPair]) -> str:
    """One row per judge and measure: the verdict (class "judge") and each rubric dimension the people
    scored (class "dim"), each with its raw agreement, kappa and interval."""
    if not table:
        return '<p class="muted" id="kappa-none">No judge has a verdict on a labelled candidate yet.</p>'
    rows = "".join(
        f'<tr class="{"judge" if m.measure == "verdict" else "dim"}" data-judge="{e(pair.rater_a)}" '
        f'data-measure="{e(m.measure)}"><td>{e(pair.rater_a) if i == 0 else ""}</td>'
        f'<td>{e(m.measure.replace("_", "-"))}</td><td>{m.n}</td><td>{m.raw:.1%}</td>'
        f'<td class="kappa">{fmt(m.kappa)}</td>'
        f'<td>{"—" if m.low is None else f"[{m.low:.2f}, {m.high:.2f}]"}</td><td>{e(m.weights)}</td></tr>'
        for pair in table for i, m in enumerate(pair.measures))
    return ('<table id="kappa"><thead><tr><th>judge</th><th>measure</th><th>labels</th><th>raw agreement</th>'
            "<th>Cohen's kappa</th><th>95 % interval</th><th>weights</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def label_page(item: LabelItem | None, task: str, gold: Answer | None, token: str, author: str, mine: int,
               everyone: int, table: list[RaterPair], pool_mode: bool = False) -> str:
    what = ("Training-pool drafts against the pool's gold: these labels become preference pairs "
            "(<code>judge export-pairs</code>). <a href=\"/label\">Label ruler candidates</a>" if pool_mode else
            "Ruler labels calibrate the judges and never leave the record. "
            "<a href=\"/label?mode=pool\">Label training-pool drafts</a>")
    head = (f'<h1>Label {"training-pool drafts" if pool_mode else "cases"}</h1><p class="muted" '
            f'data-mode="{"pool" if pool_mode else "ruler"}" id="mode">labelling as <b id="author">{e(author)}</b> · '
            f'<span id="mine">{mine}</span> label(s) by you, {everyone} in all. {what}</p>')
    if item is None or gold is None:
        form = (f'<p id="done">Nothing left to label: every {"draft" if pool_mode else "stored candidate"} '
                'has your label.</p>')
    else:
        a, b = (item.candidate, gold) if item.shown_first == "candidate" else (gold, item.candidate)
        selects = "".join(
            f'<p class="dims">{side}: ' + "".join(
                f'<label>{d.replace("_", "-")} <select name="{side}_{d}"><option value="">—</option>'
                + "".join(f'<option value="{v}">{v}</option>' for v in range(1, 6)) + "</select></label> "
                for d in RUBRIC) + "</p>" for side in ("A", "B"))
        form = f"""<p class="task">Task: <b id="task">{e(task)}</b> <span class="muted">({e(item.case_id)})</span></p>
<div class="pair">{_set("A", a)}{_set("B", b)}</div>
<form id="label-form" method="post" action="{_action(pool_mode)}">
<input type="hidden" name="csrf" value="{e(token)}">
<input type="hidden" name="pick" id="pick" value="">
<p>Which set asks the better questions? <button type="submit" name="pick" value="A" accesskey="a">A better (a)</button>
<button type="submit" name="pick" value="tie" accesskey="t">tie (t)</button>
<button type="submit" name="pick" value="B" accesskey="b">B better (b)</button></p>
<details><summary>score the dimensions, 1-5 (optional)</summary>
{selects}</details>
</form>"""
    return layout("label · autoresearch", head + form + "<h2>Judges against people</h2>" + _agreement_table(table)
                  + '<script src="/static/label.js"></script>', page="label")
