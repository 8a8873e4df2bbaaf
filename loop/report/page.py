"""The report as one self-contained HTML page: plotly.js (from the plotly package, as the dashboard
serves it), the dashboard's stylesheet and the report's own script and styles are inlined, the data
the climb is drawn from is embedded as JSON, and a Content-Security-Policy without any source
(`default-src 'none'`) keeps the page from loading anything at all, even if a text tried to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly

from loop.dashboard.experiment_page import VERDICT_NAMES
from loop.dashboard.pages import e, fmt
from loop.dashboard.queries import DIMS
from loop.report.record import AdapterUse, Drill, ReportData
from loop.report.tiles import wall_html

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
DASHBOARD_CSS = HERE.parent / "dashboard" / "static" / "dashboard.css"
CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; worker-src blob:")


def _json(value: Any) -> str:
    """JSON safe inside a <script> element (no `</script>`, no HTML-significant characters)."""
    return (json.dumps(value, separators=(",", ":"), default=str)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _script(text: str) -> str:
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def _table(head: list[str], rows: list[list[str]], cls: str = "tab") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _exp(number: int | None) -> str:
    return "—" if number is None else f'<a href="#exp-{number}">#{number}</a>'


def _answer(answer: Any, label: str) -> str:
    if not isinstance(answer, dict) and not hasattr(answer, "questions"):
        return f'<div class="set"><h4>{label}</h4><p class="muted">no answer</p></div>'
    title = answer.get("title") if isinstance(answer, dict) else answer.title
    questions = answer.get("questions") if isinstance(answer, dict) else answer.questions
    items = "".join(f"<li>{e(q)}</li>" for q in questions or [])
    return f'<div class="set"><h4>{label}</h4><p class="title">{e(title)}</p><ol>{items}</ol></div>'


def levers_html(data: ReportData) -> str:
    rows = [[e(r.label), str(r.runs), str(r.kept), str(r.invalid), fmt(r.best_quality), _exp(r.best_experiment),
             fmt(r.coverage, 2), e(r.gate)] for r in data.levers]
    return _table(["lever class", "runs", "kept", "invalid", "best quality", "best run", "its coverage", "gate"], rows)


def ceiling_html(data: ReportData) -> str:
    if not data.ceiling:
        return ('<p class="hook" id="ceiling-hook">No cloud reference in the record under this ruler. '
                '<code>autoresearch analyze ceiling --models A,B</code> scores cloud models as the candidate through '
                'the same harness; their rows appear here.</p>')
    rows = [[e(r.label), e(r.where), e(r.gate), fmt(r.quality), fmt(r.coverage, 2),
             f"{r.wins}/{r.ties}/{r.losses}"] + [fmt(r.dims.get(d), 2) for d in DIMS] for r in data.ceiling]
    return _table(["candidate", "where", "gate", "quality", "coverage", "W/T/L vs gold"]
                  + [d.replace("_", "-") for d in DIMS], rows, "tab ceiling")


def rejudge_html(data: ReportData) -> str:
    if not data.rejudges:
        return ('<p class="hook" id="rejudge-hook">No re-judge in the record for this ruler. '
                '<code>autoresearch analyze rejudge --mode coverage-blind --experiments 0,N</code> judges stored '
                'candidates again in a mode (its own ruler id, never the official record); its rows appear here.</p>')
    rows = [[_exp(r.experiment), e(t.mode), fmt(r.control.logged_quality), fmt(r.quality_standard),
             fmt(r.quality_mode), f"{r.delta:+.3f}", f"{r.losses_before} → {r.losses_after}"]
            for t in data.rejudges for r in t.rows]
    controls = "".join(f"<p class=\"control\">{e(t.mode)}: {e(t.control_sentence())}</p>" for t in data.rejudges)
    return _table(["experiment", "mode", "logged quality", "quality 5-dim (control)", "quality in mode", "Δ",
                   "losses to gold before → after"], rows, "tab rejudge") + controls


def _adapter(use: AdapterUse) -> str:
    info = use.info.words() if use.info else "no metadata in the adapter store (recipe unknown)"
    runs = ", ".join(f"{_exp(n)} {e(s)} {fmt(q)}" for n, s, q in use.experiments) or "not evaluated yet"
    return f'<li class="adapter"><code>{e(use.sha256[:12])}</code> — {e(info)}; evaluated in: {runs}</li>'


def requests_html(data: ReportData) -> str:
    if not data.requests and not data.unrequested:
        return '<p class="muted">No manual-training request and no adapter in this record.</p>'
    items = []
    for view in data.requests:
        r = view.request
        adapters = "".join(_adapter(u) for u in view.adapters) or '<li class="muted">no adapter yet</li>'
        items.append(f'<li class="request {e(r["status"])}" id="request-{r["id"]}"><strong>request {r["id"]}</strong> '
                     f'({e(r["recipe"])}, {e(r["status"])}, from {_exp(r["experiment"])}): {e(r["rationale"])} '
                     f'<span class="muted">evidence: {e(r["evidence"])}</span>'
                     + (f' <span class="answer">answer: {e(r["answer"])}</span>' if r["answer"] else "")
                     + f"<ul>{adapters}</ul></li>")
    if data.unrequested:
        items.append("<li><strong>adapters without a request</strong><ul>"
                     + "".join(_adapter(u) for u in data.unrequested) + "</ul></li>")
    return f'<ul class="requests">{"".join(items)}</ul>'


def _case(case: dict[str, Any], gold: Any, gold_shown: bool) -> str:
    dims = "".join(f"<td>{e(case[d])}</td>" for d in DIMS)
    head = "".join(f"<th>{d.replace('_', '-')}</th>" for d in DIMS)
    gold_html = (_answer(gold, "gold") if gold is not None else '<div class="set"><h4>gold</h4><p class="muted">not in '
                 'the ruler</p></div>') if gold_shown else ""
    problems = "".join(f'<p class="warn">{label}: {e(case[k])}</p>' for k, label in
                       (("invalid_reason", "invalid"), ("judge_error", "judge error")) if case[k])
    return f"""<details class="case" id="case-{e(case['case_id'])}"><summary><span class="cid">{e(case['case_id'])}</span>
{e(case['task'])}<span class="verdict {e(case['verdict'])}">{e(VERDICT_NAMES.get(case['verdict'], case['verdict']))}</span>
</summary>{problems}<div class="sets">{gold_html}{_answer(case['candidate'], 'candidate')}</div>
<table class="scores"><tr>{head}<th>candidate shown first</th><th>gold shown first</th></tr><tr>{dims}
<td>{e(VERDICT_NAMES.get(case['verdict_candidate_first']))}</td><td>{e(VERDICT_NAMES.get(case['verdict_gold_first']))}</td>
</tr></table><p class="reasoning">{e(case['reasoning'] or '')}</p>
{f'<p class="notes">failure notes: {e(case["failure_notes"])}</p>' if case['failure_notes'] else ''}</details>"""


def drill_html(drill: Drill | None, data: ReportData) -> str:
    if drill is None:
        return '<p class="muted">No kept experiment with an official evaluation under this ruler yet.</p>'
    gold_note = ("Gold sets are shown (ruler cases; the sealed holdout is never in this report)." if data.gold_shown
                 else "Gold sets are left out (--no-gold).")
    if data.gold_error:
        gold_note += f" Gold could not be read: {e(data.gold_error)}"
    cases = "".join(_case(c.case, c.gold, data.gold_shown) for c in drill.cases)
    return (f'<p>Experiment {_exp(drill.number)} ({e(drill.status)}, quality {fmt(drill.quality)}), '
            f'{e(drill.gate)} gate, evaluation {drill.evaluation_id}: {e(drill.hypothesis or "")}</p>'
            f'<p class="muted small">{gold_note} Open a case for both sets, the five dimensions, both verdicts and '
            f'the judge\'s reasoning.</p><div id="cases" data-count="{len(drill.cases)}">{cases}</div>')


def experiments_html(data: ReportData) -> str:
    p = data.points
    rows = []
    for i, n in enumerate(p["number"]):
        wtl = "—" if p["wins"][i] is None else f'{p["wins"][i]}/{p["ties"][i]}/{p["losses"][i]}'
        rows.append(f'<tr id="exp-{n}"><td>#{n}</td><td><span class="badge {e(p["status"][i])}">{e(p["status"][i])}'
                    f'</span></td><td>{e(p["lever"][i])}</td><td>{fmt(p["quality"][i])}</td><td>{wtl}</td>'
                    f'<td>{e(p["hypothesis"][i] or "")}</td></tr>')
    return ('<table class="tab experiments"><thead><tr><th>#</th><th>status</th><th>lever</th><th>quality</th>'
            f'<th>W/T/L</th><th>hypothesis</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def climb_data(data: ReportData) -> dict[str, Any]:
    keys = ("number", "status", "lever", "quality", "hypothesis", "model_line", "noise_floor")
    return {"points": {k: data.points[k] for k in keys},
            "line_changes": [{"number": c.number, "before": c.before, "after": c.after, "message": c.message}
                             for c in data.line_changes]}


def render(data: ReportData) -> str:
    r = data.ruler
    statuses: dict[str, int] = {}
    for s in data.points["status"]:
        statuses[s] = statuses.get(s, 0) + 1
    counts = " · ".join(f"{v} {k}" for k, v in sorted(statuses.items()))
    others = (f" · {data.other_rulers} experiment(s) under other rulers left out (not comparable)"
              if data.other_rulers else "")
    changes = "".join(f"<li>before #{c.number}: {e(c.message)}</li>" for c in data.line_changes)
    floors = [f for f in data.points["noise_floor"] if f is not None]
    band = ("The band is the running best ± the noise floor its keep decisions used." if floors
            else "No noise floor is recorded in these decisions, so no band is drawn.")
    body = f"""<h1>Research report</h1>
<section class="panel"><div class="facts-line"><span>generated {e(data.generated_at)}</span>
<span>record <code>{e(data.where)}</code></span><span>ruler <code id="ruler-id">{e(r['id'])}</code></span>
<span>judge {e(r['judge_id'])} ({e(r['judge_mode'])})</span></div>
<p class="small">{len(data.points['number'])} experiments: {e(counts)}{e(others)}</p></section>
<section class="panel"><h2>The climb</h2><div id="climb" class="chart"></div>
<p class="muted small">Every experiment is a point (unscored ones at 0); the step line is the running best (the newest kept
experiment). {band} Dashed violet lines mark model-line changes. Click a point for its row below.</p>
{f'<ul class="small">{changes}</ul>' if changes else ''}</section>
<section class="panel"><h2>Every experiment at a glance</h2>
<p class="muted small">One tile per experiment in run order: its pipeline as the recorded trace ran it, a row per stage,
a mark per call.</p>{wall_html(data.tiles, lambda n: f"#exp-{n}")}</section>
<section class="panel" id="levers"><h2>Levers</h2>{levers_html(data)}</section>
<section class="panel" id="ceiling"><h2>Cloud ceiling</h2>{ceiling_html(data)}</section>
<section class="panel" id="rejudge"><h2>Re-judged in other modes</h2>{rejudge_html(data)}</section>
<section class="panel" id="training"><h2>Training requests and their adapters</h2>{requests_html(data)}</section>
<section class="panel" id="drill"><h2>Case by case</h2>{drill_html(data.drill, data)}</section>
<section class="panel"><h2>Experiments</h2>{experiments_html(data)}</section>"""
    styles = DASHBOARD_CSS.read_text(encoding="utf-8") + (HERE / "static" / "report.css").read_text(encoding="utf-8")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autoresearch report — ruler {e(r['id'][:12])}</title>
<style>{styles}</style>
</head>
<body data-page="report">
<header class="top"><span class="brand">autoresearch</span><span class="sub">research report</span></header>
<main>
{body}
</main>
<script type="application/json" id="report-data">{_json(climb_data(data))}</script>
{_script(PLOTLY_JS.read_text(encoding="utf-8"))}
{_script((HERE / "static" / "report.js").read_text(encoding="utf-8"))}
</body></html>"""
