"""A run's trace drawn as its process diagram: a hand-written SVG any browser shows.

Boxes in call order, top to bottom, joined by arrows. Plain model calls, adapter calls and
deterministic steps each have their own colour and outline; a legend explains them; each box is
labelled with its step label and its figures (tokens in/out, latency).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

STYLES = {
    "model": {"fill": "#dbeafe", "stroke": "#1d4ed8", "dash": "", "name": "model call"},
    "adapter": {"fill": "#fce7f3", "stroke": "#be185d", "dash": "", "name": "adapter call"},
    "step": {"fill": "#ecfccb", "stroke": "#4d7c0f", "dash": "6 3", "name": "deterministic step"},
    "error": {"fill": "#fee2e2", "stroke": "#b91c1c", "dash": "", "name": "failed call"},
    # not a trace event: the training that made an adapter (drawn on tiles from the adapter's metadata)
    "training": {"fill": "#fef3c7", "stroke": "#b45309", "dash": "", "name": "training"},
}
KINDS = ("model", "adapter", "step")
WIDTH, BOX_W, BOX_H, GAP, TOP = 460, 360, 46, 22, 70
MAX_BOXES = 200


def kind_of(event: dict) -> str:
    """The drawn kind of a trace event: `model`, `adapter` or `step` (anything unknown is a step)."""
    kind = event.get("kind")
    return kind if kind in KINDS else "step"


def _figures(event: dict) -> str:
    parts = []
    if event.get("kind") in ("model", "adapter"):
        tokens_in, tokens_out = event.get("input_tokens"), event.get("output_tokens")
        parts.append(f"{'?' if tokens_in is None else tokens_in} → {'?' if tokens_out is None else tokens_out} tok")
        if event.get("schema"):
            parts.append("schema")
        sampling = event.get("sampling") or {}
        if sampling.get("mode") == "random":
            parts.append(f"T={sampling.get('temperature')}")
    latency = event.get("latency_ms")
    parts.append("? ms" if latency is None else f"{latency:,.0f} ms")
    if event.get("ok") is False:
        parts.append("FAILED")
    return " · ".join(parts)


def _clip(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box(index: int, event: dict, y: int) -> str:
    kind = kind_of(event)
    style = STYLES["error" if event.get("ok") is False else kind]
    x = (WIDTH - BOX_W) // 2
    label = event.get("label") or kind
    title = f"{index}. {label}"
    tooltip = escape(f"{kind}: {label}\n{_figures(event)}")
    dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
    rx = 4 if kind == "step" else 12
    return (f'<g class="{kind}"><title>{tooltip}</title>'
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="{rx}" fill="{style["fill"]}" '
            f'stroke="{style["stroke"]}" stroke-width="2"{dash}/>'
            f'<text x="{x + 12}" y="{y + 19}" class="label">{escape(_clip(title))}</text>'
            f'<text x="{x + 12}" y="{y + 37}" class="figures">{escape(_figures(event))}</text></g>')


def _arrow(y_from: int, y_to: int) -> str:
    x = WIDTH // 2
    return f'<line x1="{x}" y1="{y_from}" x2="{x}" y2="{y_to - 2}" stroke="#475569" stroke-width="1.5" marker-end="url(#arrow)"/>'


def _legend(y: int) -> str:
    items = []
    for i, key in enumerate(KINDS):
        style = STYLES[key]
        x = 20 + i * 145
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        items.append(f'<rect x="{x}" y="{y}" width="18" height="14" rx="3" fill="{style["fill"]}" '
                     f'stroke="{style["stroke"]}" stroke-width="2"{dash}/>'
                     f'<text x="{x + 24}" y="{y + 12}" class="legend">{style["name"]}</text>')
    return '<g class="legend">' + "".join(items) + "</g>"


def trace_to_svg(trace: list[dict], title: str) -> str:
    events = list(trace)[:MAX_BOXES]
    calls = [e for e in trace if e.get("kind") in ("model", "adapter")]
    tokens = sum((e.get("input_tokens") or 0) + (e.get("output_tokens") or 0) for e in calls)
    latency = sum(e.get("latency_ms") or 0 for e in trace)
    height = TOP + max(1, len(events)) * (BOX_H + GAP) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">',
        "<style>text{font-family:system-ui,sans-serif}.title{font-size:15px;font-weight:600}"
        ".label{font-size:13px;fill:#0f172a}.figures{font-size:11px;fill:#475569}.legend{font-size:11px}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="20" y="24" class="title">{escape(_clip(title, 60))}</text>',
        f'<text x="{WIDTH - 20}" y="24" text-anchor="end" class="figures">{len(calls)} calls · '
        f'{tokens} tok · {latency:,.0f} ms</text>',
        _legend(38),
    ]
    if not events:
        parts.append(f'<text x="20" y="{TOP + 20}" class="figures">(no steps recorded)</text>')
    for i, event in enumerate(events):
        y = TOP + i * (BOX_H + GAP)
        if i:
            parts.append(_arrow(y - GAP, y))
        parts.append(_box(i + 1, event, y))
    if len(trace) > MAX_BOXES:
        parts.append(f'<text x="20" y="{height - 6}" class="figures">… {len(trace) - MAX_BOXES} more not drawn</text>')
    parts.append("</svg>")
    return "\n".join(parts)
