"""The tile wall: one small tile per experiment in run order, its pipeline's bare structure drawn as
marks (a row per stage, one mark per call), marked kept / discarded / invalid / crashed / running, so
the eras of the research show at once: single shots, wide ensembles, tall chains, adapter runs.

Colours come from the trace diagram (`loop.trace_diagram.STYLES`); each kind also has its own mark
(model call: rounded box, adapter call: diamond, deterministic step: small square, training:
triangle), so the wall reads without colour too. Hand-written SVG inside plain HTML: the dashboard and
the self-contained report show the same markup; the styles are in the dashboard's CSS (`.tile*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable

from loop.report.shape import Shape, Stage
from loop.trace_diagram import STYLES

WIDTH, ROW, MARK, PITCH, PAD = 150, 15, 10, 13, 6
MAX_MARKS = 8  # per stage; more are summarised as "+N"
MAX_ROWS = 12  # stages per tile; more are summarised as "… N more stages"
KIND_NAMES = {"model": "model call", "adapter": "adapter call", "step": "deterministic step", "training": "training"}
STATUS_MARKS = {"kept": "◆", "discarded": "○", "invalid": "✕", "crashed": "▼", "superseded": "⤳", "running": "…"}


@dataclass(frozen=True)
class Tile:
    number: int
    status: str
    lever: str
    quality: float | None
    hypothesis: str
    shape: Shape


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _mark(kind: str, x: float, y: float, failed: bool) -> str:
    style = STYLES[kind]
    stroke = STYLES["error"]["stroke"] if failed else style["stroke"]
    common = f'class="mark {kind}{" failed" if failed else ""}" fill="{style["fill"]}" stroke="{stroke}" stroke-width="1.5"'
    cx, cy, r = x + MARK / 2, y + MARK / 2, MARK / 2
    if kind == "adapter":
        return f'<polygon {common} points="{cx},{y} {x + MARK},{cy} {cx},{y + MARK} {x},{cy}"/>'
    if kind == "step":
        return f'<rect {common} x="{x + 1.5}" y="{y + 1.5}" width="{MARK - 3}" height="{MARK - 3}" rx="1"/>'
    if kind == "training":
        return f'<polygon {common} points="{cx},{y} {x + MARK},{y + MARK} {x},{y + MARK}"/>'
    return f'<rect {common} x="{x}" y="{y}" width="{MARK}" height="{MARK}" rx="{r - 1}"/>'


def _stage(stage: Stage, y: float) -> str:
    drawn = min(stage.count, MAX_MARKS)
    marks = "".join(_mark(stage.kind, PAD + i * PITCH, y, i < stage.failed) for i in range(drawn))
    tip = f"{KIND_NAMES[stage.kind]}: {stage.label}" + (f" ×{stage.count}" if stage.count > 1 else "")
    if stage.detail:
        tip += f" ({stage.detail})"
    if stage.failed:
        tip += f", {stage.failed} failed"
    x_text = PAD + drawn * PITCH + 2
    extra = f"+{stage.count - drawn} " if stage.count > drawn else ""
    label = (extra + (stage.short or stage.label))[: max(0, (WIDTH - x_text) // 5)]
    return (f'<g class="stage {stage.kind}" data-kind="{stage.kind}" data-label="{_e(stage.label)}" '
            f'data-count="{stage.count}" data-failed="{stage.failed}"><title>{_e(tip)}</title>{marks}'
            f'<text x="{x_text}" y="{y + MARK - 1}" class="tile-label">{_e(label)}</text></g>')


def shape_svg(shape: Shape) -> str:
    stages = shape.stages[:MAX_ROWS]
    rows = max(1, len(stages)) + (1 if len(shape.stages) > MAX_ROWS else 0)
    height = PAD * 2 + rows * ROW - (ROW - MARK)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="tile-shape" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="pipeline structure">']
    if not stages:
        parts.append(f'<text x="{PAD}" y="{PAD + MARK - 1}" class="tile-label">no trace recorded</text>')
    for i, stage in enumerate(stages):
        parts.append(_stage(stage, PAD + i * ROW))
    if len(shape.stages) > MAX_ROWS:
        more = len(shape.stages) - MAX_ROWS
        parts.append(f'<text x="{PAD}" y="{PAD + MAX_ROWS * ROW + MARK - 1}" class="tile-label more">… {more} more '
                     f'stage{"s" if more > 1 else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


def tile_html(tile: Tile, href: str) -> str:
    quality = "—" if tile.quality is None else f"{tile.quality:.3f}"
    counts = tile.shape.counts()
    calls = counts.get("model", 0) + counts.get("adapter", 0)
    shown = "unscored" if tile.quality is None else f"quality {quality}"
    title = f"#{tile.number} {tile.status} · {tile.lever} · {shown} · {calls} calls — {tile.hypothesis}"
    return (f'<a class="tile {_e(tile.status)}" id="tile-{tile.number}" href="{_e(href)}" data-number="{tile.number}" '
            f'data-status="{_e(tile.status)}" data-lever="{_e(tile.lever)}" title="{_e(title)}">'
            f'<span class="tile-head"><span class="tile-n">#{tile.number}</span>'
            f'<span class="tile-status">{STATUS_MARKS.get(tile.status, "")} {_e(tile.status)}</span>'
            f'<span class="tile-q">{quality}</span></span>{shape_svg(tile.shape)}</a>')


def legend_html() -> str:
    kinds = "".join(f'<span class="tile-key"><svg width="12" height="12" viewBox="0 0 12 12">{_mark(k, 1, 1, False)}'
                    f"</svg> {name}</span>" for k, name in KIND_NAMES.items())
    statuses = "".join(f'<span class="tile-key tile {s}">{mark} {s}</span>' for s, mark in STATUS_MARKS.items())
    return f'<p class="tile-legend">{kinds}<span class="sep"></span>{statuses}</p>'


def wall_html(tiles: list[Tile], href: Callable[[int], str]) -> str:
    """The legend and the wall; `href(number)` is where a tile leads (the experiment's page or anchor)."""
    if not tiles:
        return '<p class="muted">No experiment in this view.</p>'
    body = "".join(tile_html(t, href(t.number)) for t in tiles)
    return f'{legend_html()}<div class="tile-wall" id="tile-wall" data-count="{len(tiles)}">{body}</div>'
