"""The dashboard's tile wall (`/tiles`, `?ruler=ID&first=&last=`): every experiment of the view in run
order as a tile of its pipeline's bare structure (`loop.report.tiles`); a tile opens its experiment.
Server-rendered, no script needed. Default window: the newest `WALL_WINDOW` experiments."""

from __future__ import annotations

from loop.dashboard.pages import e, layout, ruler_selector
from loop.report.tile_query import WALL_WINDOW
from loop.report.tiles import Tile, wall_html


def tiles_page(rulers: list[dict], current: str | None, where: str, tiles: list[Tile],
               first: int | None, last: int | None) -> str:
    if first is not None or last is not None:
        window = f"experiments {first or 1} to {last or 'the newest'}"
    else:
        window = f"the newest {WALL_WINDOW} experiments" if len(tiles) >= WALL_WINDOW else "every experiment"
    selector = ruler_selector(rulers, current).replace('action="/"', 'action="/tiles"')
    body = f"""
<section class="bar">{selector}
<p class="muted small">Record: <code>{e(where)}</code> · ruler <code id="ruler-id">{e(current)}</code></p></section>
<section class="panel">
<div class="panel-head"><h2>Every experiment at a glance</h2>
<form class="window" method="get" action="/tiles"><input type="hidden" name="ruler" value="{e(current or '')}">
experiments <input type="number" name="first" min="1" placeholder="first" value="{e(first or '')}">
to <input type="number" name="last" min="1" placeholder="last" value="{e(last or '')}">
<button type="submit">show</button></form></div>
<p class="muted small">Showing {e(window)} ({len(tiles)} tiles) in run order. Each tile is one experiment's pipeline
as its recorded trace ran it: a row per stage, a mark per call. A tile opens its experiment.</p>
{wall_html(tiles, lambda n: f"/experiments/{n}")}
</section>"""
    return layout("tile wall — autoresearch", body, page="tiles", data={"ruler": current or ""})
