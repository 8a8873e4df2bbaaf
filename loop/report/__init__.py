"""The shareable report (`autoresearch report`) and the tile wall it shares with the dashboard.

`shape` strips a recorded trace to its bare structure, `tiles` draws one tile per experiment, `record`
reads what the report shows from the database, `page` writes the self-contained HTML.
"""
