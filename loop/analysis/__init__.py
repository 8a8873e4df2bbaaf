"""The seeds' three analyses, kept out of the on-device record (`autoresearch analyze ...`):

- `ceiling`: each cloud model as the candidate through the identical harness (`loop.evaluate.evaluate`
  with the `cloud` runner), stored as evaluations of kind `reference` with no experiment: never a point
  of the on-device leaderboard, which is built from experiment rows;
- `rejudge_modes`: stored candidates judged again in a judge mode (e.g. `coverage-blind`) beside a
  five-dimension control, stored as evaluations of kind `rejudge` (no experiment) under each mode's own
  ruler id;
- `levers`: the lever-class table and the rubric "scored as candidate" table, read from the record.

`record` holds the readers they share; `render` the tables a person reads.
"""

from __future__ import annotations


class AnalysisRefused(ValueError):
    """An analysis that cannot run as asked (unknown experiment, another ruler, no credentials): one
    clear message, nothing recorded."""
