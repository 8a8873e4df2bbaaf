"""The experiment page: hypothesis, method, result against its parent, the diff, the process diagram,
and for every case the task, the gold set, the candidate set, the scores, both verdicts and the reasoning.
"""

from __future__ import annotations

from typing import Any

from loop.dashboard.detail import ExperimentDetail
from loop.dashboard.pages import e, fmt, layout
from loop.dashboard.queries import DIMS
from loop.schemas import Answer

VERDICT_NAMES = {"candidate": "candidate better", "tie": "tie", "gold": "gold better", None: "—"}


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    cls = "up" if value > 0 else "down" if value < 0 else ""
    return f'<span class="{cls}">{value:+.3f}</span>'


def diff_html(diff: str | None) -> str:
    if not diff:
        return '<p class="muted">No diff recorded.</p>'
    lines = []
    for line in diff.splitlines():
        cls = ("meta" if line.startswith(("+++", "---", "diff ", "index ")) else "add" if line.startswith("+")
               else "del" if line.startswith("-") else "hunk" if line.startswith("@@") else "")
        lines.append(f'<span class="{cls}">{e(line)}</span>' if cls else e(line))
    return f'<pre class="diff">{chr(10).join(lines)}</pre>'


def _answer(answer: Any, label: str) -> str:
    if not answer:
        return f'<div class="set"><h4>{label}</h4><p class="muted">no answer</p></div>'
    try:
        parsed = Answer.model_validate(answer) if isinstance(answer, dict) else answer
    except ValueError:
        return f'<div class="set"><h4>{label}</h4><pre>{e(answer)}</pre></div>'
    items = "".join(f"<li>{e(q)}</li>" for q in parsed.questions)
    return f'<div class="set"><h4>{label}</h4><p class="title">{e(parsed.title)}</p><ol>{items}</ol></div>'


def _result(detail: ExperimentDetail) -> str:
    x, p = detail.experiment, detail.parent
    rows = [("quality", fmt(x["quality"]), fmt(p["quality"]) if p else "—",
             _signed(x["quality"] - p["quality"]) if p and x["quality"] is not None and p["quality"] is not None
             else "—")]
    for dim in DIMS:
        mine = (x["dims"] or {}).get(dim)
        theirs = ((p or {}).get("dims") or {}).get(dim)
        rows.append((dim.replace("_", "-"), fmt(mine, 2), fmt(theirs, 2),
                     _signed(mine - theirs) if mine is not None and theirs is not None else "—"))
    wtl = lambda r: "—" if not r or r["wins"] is None else f'{r["wins"]}/{r["ties"]}/{r["losses"]}'  # noqa: E731
    rows.append(("W/T/L", wtl(x), wtl(p), ""))
    parent = (f'<a href="/experiments/{p["number"]}">#{p["number"]}</a> ({e(p["status"])})' if p
              else "none (baseline)")
    body = "".join(f"<tr><th>{a}</th><td>{b}</td><td>{c}</td><td>{d}</td></tr>" for a, b, c, d in rows)
    return f"""<table class="result"><thead><tr><th></th><th>this</th><th>parent {parent}</th><th>Δ</th></tr></thead>
<tbody>{body}</tbody></table>"""


def _facts(x: dict[str, Any]) -> str:
    tokens = x.get("agent_tokens") or {}
    durations = x.get("durations") or {}
    facts = [("status", f'<span class="badge {e(x["status"])}">{e(x["status"])}</span> {e(x["reason"] or "")}'),
             ("lever / operator", f'{e(x["lever"])} / {e(x["operator"])} ({e(x["agent"])})'
              + (f' — the agent claimed {e(x["lever_claimed"])}' if x.get("lever_claimed") not in (None, x["lever"])
                 else "")),
             ("worker", e(x.get("worker") or "—")), ("gate reached", e(x["gate"])), ("ruler", f'<code>{e(x["ruler_id"])}</code>'),
             ("judge", e(x["judge_id"])), ("runner", f'{e(x["runner_model"])} {e(x["runner_version"] or "")}'),
             ("agent cost", "—" if x["agent_cost_usd"] is None else f'${x["agent_cost_usd"]:.3f}'),
             ("agent turns", e(x["agent_turns"])),
             ("judge cost", "—" if x.get("judge_cost_usd") is None else
              f'${x["judge_cost_usd"]:.4f} (tokens in {e(x["judge_input_tokens"])}, out {e(x["judge_output_tokens"])}, '
              f'cache read {e(x["judge_cache_read_tokens"])})'),
             ("tokens", ", ".join(f"{e(k)} {e(v)}" for k, v in tokens.items()) or "—"),
             ("agent's own claim", fmt(x["agent_claimed_quality"])),
             ("durations", ", ".join(f"{e(k)} {float(v):.0f}s" for k, v in durations.items()) or "—"),
             ("commit", f'<code>{e(x["commit"])}</code> {e(x["branch"] or "")}'),
             ("started / finished", f'{e(x["started_at"])} / {e(x["finished_at"])}')]
    return '<dl class="facts">' + "".join(f"<dt>{a}</dt><dd>{b}</dd>" for a, b in facts) + "</dl>"


def _case(case: dict[str, Any], detail: ExperimentDetail) -> str:
    gold = detail.gold.get(case["case_id"])
    gold_html = _answer(gold.gold, "gold") if gold else (
        f'<div class="set"><h4>gold</h4><p class="muted">{e(detail.gold_error or "not in the ruler")}</p></div>')
    dims = "".join(f"<td>{e(case[d])}</td>" for d in DIMS)
    head = "".join(f"<th>{d.replace('_', '-')}</th>" for d in DIMS)
    problems = [f'<p class="warn">{label}: {e(case[k])}</p>' for k, label in
                (("invalid_reason", "invalid"), ("judge_error", "judge error")) if case[k]]
    if case["gold_leak"]:
        problems.append('<p class="warn">gold leak: this output near-copies the gold set</p>')
    delta = (case["contribution"] - case["parent_contribution"]
             if case["contribution"] is not None and case["parent_contribution"] is not None else None)
    return f"""<section class="case" id="case-{e(case['case_id'])}">
<h3><span class="cid">{e(case['case_id'])}</span> {e(case['task'])}
<span class="verdict {e(case['verdict'])}">{e(VERDICT_NAMES.get(case['verdict'], case['verdict']))}</span></h3>
{''.join(problems)}<div class="sets">{gold_html}{_answer(case['candidate'], 'candidate')}</div>
<table class="scores"><tr>{head}<th>candidate shown first</th><th>gold shown first</th><th>contribution</th>
<th>vs incumbent</th></tr><tr>{dims}<td>{e(VERDICT_NAMES.get(case['verdict_candidate_first']))}</td>
<td>{e(VERDICT_NAMES.get(case['verdict_gold_first']))}</td><td>{fmt(case['contribution'])}</td>
<td>{_signed(delta)}</td></tr></table>
<p class="reasoning">{e(case['reasoning'] or '')}</p>
{f'<p class="notes">failure notes: {e(case["failure_notes"])}</p>' if case['failure_notes'] else ''}
</section>"""


def _confinement(mode: str | None) -> str:
    """How the pipeline was confined; an unconfined run is flagged (it could read ruler/)."""
    if mode == "none":
        return '<span class="badge invalid">UNCONFINED</span>'
    return f"confined: {e(mode)}" if mode else "confinement not recorded"


def _evaluations(detail: ExperimentDetail, number: int) -> str:
    if not detail.evaluations:
        return '<p class="muted">Never scored.</p>'
    items = []
    for ev in detail.evaluations:
        shown = detail.evaluation is not None and ev["id"] == detail.evaluation["id"]
        label = (f'{e(ev["kind"])} · {e(ev["gate"])} gate · quality {fmt(ev["quality"])} · '
                 f'W/T/L {ev["wins"]}/{ev["ties"]}/{ev["losses"]} · {_confinement(ev.get("confinement"))}'
                 + (f' · position flips {ev["position_flip_rate"]:.0%}' if ev.get("position_flip_rate") is not None else ''))
        items.append(f"<li><strong>{label}</strong> (shown below)</li>" if shown else
                     f'<li><a href="/experiments/{number}?evaluation={ev["id"]}">{label}</a></li>')
    return "<ul class=evals>" + "".join(items) + "</ul>"


def experiment_page(detail: ExperimentDetail, supervisor: str = "") -> str:
    """The page; `supervisor` is the supervisor's panel (loop/dashboard/supervisor.py), shown after the hypothesis."""
    x = detail.experiment
    n = x["number"]
    nav = " ".join(filter(None, [
        f'<a href="/experiments/{detail.previous}">← #{detail.previous}</a>' if detail.previous else "",
        '<a href="/">overview</a>',
        f'<a href="/experiments/{detail.next}">#{detail.next} →</a>' if detail.next else ""]))
    diagram = (f'<img class="diagram" src="/experiments/{n}/diagram.svg" alt="process diagram of experiment {n}">'
               if detail.has_diagram else '<p class="muted">No process diagram recorded.</p>')
    requests = "".join(f'<li>{e(r["recipe"])} ({e(r["status"])}): {e(r["rationale"])} — evidence: {e(r["evidence"])}'
                       f'{" — answer: " + e(r["answer"]) if r["answer"] else ""}</li>' for r in detail.requests)
    body = f"""<nav class="crumbs">{nav}</nav>
<h1>Experiment #{n} <span class="badge {e(x['status'])}">{e(x['status'])}</span></h1>
<section class="panel two"><div><h2>Hypothesis</h2><p class="prose">{e(x['hypothesis'] or 'not recorded')}</p>
<h2>Method</h2><p class="prose">{e(x['method'] or 'not recorded')}</p></div><div>{_facts(x)}</div></section>
{supervisor}
<section class="panel"><h2>Result against its parent</h2>{_result(detail)}
<h3>Evaluations</h3>{_evaluations(detail, n)}
{f'<h3>Manual-training requests</h3><ul>{requests}</ul>' if requests else ''}</section>
<section class="panel two"><div><h2>Diff</h2>{diff_html(x['diff'])}</div>
<div><h2>Process diagram</h2>{diagram}</div></section>
<section class="panel"><h2>Cases ({len(detail.cases)})</h2>
{''.join(_case(c, detail) for c in detail.cases) or '<p class="muted">No case results.</p>'}</section>"""
    return layout(f"Experiment #{n} — autoresearch", body, page="experiment", data={"number": str(n)})
