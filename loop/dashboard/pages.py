"""HTML of the dashboard's pages (html.escape everywhere, no template engine): the layout, the overview,
the empty state and the error pages. The experiment page is in `experiment_page.py`.
"""

from __future__ import annotations

from html import escape
from typing import Any

STATUSES = ("kept", "discarded", "invalid", "crashed", "running")
METRICS = [("quality", "quality"), ("atomicity", "atomicity"), ("specificity", "specificity"),
           ("coverage", "coverage"), ("naturalness", "naturalness"), ("non_redundancy", "non-redundancy"),
           ("wtl", "W/T/L")]


def e(value: Any) -> str:
    """Escaped text; None shows as an em dash."""
    return "—" if value is None else escape(str(value), quote=True)


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def layout(title: str, body: str, *, page: str, data: dict[str, str] | None = None, plotly: bool = False) -> str:
    attrs = "".join(f' data-{escape(k)}="{e(v)}"' for k, v in (data or {}).items())
    scripts = '<script src="/static/plotly.min.js"></script>\n' if plotly else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="stylesheet" href="/static/dashboard.css">
</head>
<body data-page="{e(page)}"{attrs}>
<header class="top"><a class="brand" href="/">autoresearch</a><span class="sub">the morning dashboard</span>
<a class="nav" href="/tiles">tile wall</a>
<span id="live" class="live" title="updates itself every few seconds">live</span></header>
<main>
{body}
</main>
{scripts}<script src="/static/dashboard.js"></script>
</body></html>"""


def ruler_selector(rulers: list[dict[str, Any]], current: str | None) -> str:
    if not rulers:
        return '<p class="muted">No scored experiment yet: every point below is unscored.</p>'
    options = "".join(
        f'<option value="{e(r["id"])}"{" selected" if r["id"] == current else ""}>'
        f'{e(r["id"][:12])} · {e(r["judge_id"])}{"" if r["judge_mode"] == "standard" else " (" + e(r["judge_mode"]) + ")"}'
        f' · {r["experiments"]} experiments</option>' for r in rulers)
    others = sum(r["experiments"] for r in rulers if r["id"] != current)
    note = (f'<span class="muted">{others} experiment(s) under other rulers are kept apart: their scores are not '
            f'comparable with these.</span>') if others else ""
    return f"""<form class="ruler" method="get" action="/"><label>Ruler in force
<select id="ruler-select" name="ruler">{options}</select></label>
<noscript><button type="submit">show</button></noscript> {note}</form>"""


def overview_page(rulers: list[dict[str, Any]], current: str | None, where: str, workers: str = "") -> str:
    metric_buttons = "".join(f'<button type="button" data-metric="{m}"{" class=on" if m == "quality" else ""}>'
                             f"{label}</button>" for m, label in METRICS)
    body = f"""
<section class="bar">{ruler_selector(rulers, current)}
<p class="muted small">Record: <code>{e(where)}</code> · ruler <code id="ruler-id">{e(current)}</code></p></section>
<section class="cards" id="cards"><p class="muted">loading the experiment record…</p></section>
{workers}
<section class="panel">
<div class="panel-head"><h2>Every experiment</h2><div class="metrics" id="metrics">{metric_buttons}</div></div>
<p class="legend" id="legend"></p>
<div id="chart-main" class="chart"></div>
<p class="muted small">Click a point to open its experiment. Unscored experiments (crashed, running) sit at 0.
The step line is the running best: the incumbent's value (the newest kept experiment) at each number.
Dashed violet lines are the cloud ceiling: a cloud model as the candidate through the same harness, stored as a
reference (<code>autoresearch analyze ceiling</code>), never an on-device experiment.</p>
</section>
<section class="panel">
<div class="panel-head"><h2>Tasks against the incumbent</h2>
<form id="matrix-window" class="window">experiments <input type="number" name="first" min="1" placeholder="first">
to <input type="number" name="last" min="1" placeholder="last"> <button type="submit">show</button></form></div>
<div id="chart-matrix" class="chart tall"></div>
<p class="muted small">Each cell: that case's contribution to quality (0.5·pairwise + 0.5·(mean dims − 1)/4) minus
the incumbent's same case. Green improved, red regressed, blank unscored. Default: the newest 300 experiments.</p>
</section>
<section class="panel"><h2>Agent cost per experiment</h2><div id="chart-cost" class="chart short"></div></section>
<section class="panel"><h2>Manual-training requests</h2><div id="requests"></div></section>
"""
    return layout("autoresearch dashboard", body, page="overview", data={"ruler": current or ""}, plotly=True)


def empty_page(where: str) -> str:
    body = f"""
<section class="panel empty">
<h1>No experiments yet</h1>
<p>The record at <code>{e(where)}</code> is ready but holds no experiment. Start the loop and this page
fills itself in as experiments finish:</p>
<pre>autoresearch init        # once: database, ruler lock
autoresearch run         # the overnight loop (or: make run)</pre>
<p class="muted">Waiting for the first experiment… (this page checks every few seconds)</p>
</section>"""
    return layout("autoresearch dashboard — no experiments yet", body, page="empty")


def error_page(title: str, message: str, hint: str = "") -> str:
    hint_html = f"<p>{hint}</p>" if hint else ""
    body = f"""<section class="panel error"><h1>{e(title)}</h1><p>{e(message)}</p>{hint_html}
<p><a href="/">back to the dashboard</a></p></section>"""
    return layout(title, body, page="error")


def missing_database_page(where: str) -> str:
    return error_page("No database here", f"There is no record database at {where}.",
                      "Create it with <code>autoresearch init</code>, or point the dashboard at another one "
                      "with <code>DATABASE_URL</code> / <code>--db</code>.")


def unavailable_database_page(where: str, error: str) -> str:
    return error_page("The database cannot be opened", f"{where}: {error}",
                      "The dashboard retries on every request; fix the database and reload.")
