"""Label stored candidates the way a person does: through the dashboard's real /label page and its write
rules (same origin, the page's one-use token), choosing per case which set wins."""

from __future__ import annotations

import html
import re
import urllib.request
from urllib.parse import urlencode


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def label_through_dashboard(base: str, wanted: dict[str, tuple[str, dict[str, int]]],
                            gold_titles: dict[str, str]) -> list[str]:
    """For each page the dashboard serves, pick so that the unblinded verdict is `wanted[case_id][0]`
    (candidate | tie | gold) and score the candidate's dimensions `wanted[case_id][1]`; returns the case
    ids in the order labelled. The candidate's side is told apart from gold by its title."""
    done = []
    while True:
        with urllib.request.urlopen(base + "/label") as reply:
            page = reply.read().decode()
        if 'id="done"' in page:
            return done
        case_id = re.search(r'<span class="muted">\(([^)]+)\)</span>', page).group(1)
        title_a = html.unescape(re.search(r'id="set-a"><h3>A: (.*?)</h3>', page).group(1))
        token = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page).group(1))
        verdict, dims = wanted[case_id]
        candidate_side = "B" if title_a == gold_titles[case_id] else "A"
        gold_side = "A" if candidate_side == "B" else "B"
        pick = {"tie": "tie", "candidate": candidate_side, "gold": gold_side}[verdict]
        fields = {"csrf": token, "pick": pick, **{f"{candidate_side}_{d}": str(v) for d, v in dims.items()}}
        request = urllib.request.Request(base + "/label", data=urlencode(fields).encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Origin": base})
        try:
            urllib.request.build_opener(_NoRedirect).open(request)
        except urllib.error.HTTPError as exc:
            assert exc.code == 303, f"the label on {case_id} was refused: {exc.code} {exc.read()[:300]!r}"
        done.append(case_id)
