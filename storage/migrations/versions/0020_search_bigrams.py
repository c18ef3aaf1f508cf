"""desk search for two-character words at 1,000,000 orders (issue 13): an index of the text's bigrams

Trigrams (0018) answer `text LIKE '%words%'` for three characters or more; a two-character word (燃气, 漏水) has
no trigram, so a word nobody wrote read every order (p95 647 ms at 1,000,000 orders; 8.9 ms with this
index, `make bench-desk`; building it there took 9.6 s). PostgreSQL only:

- gridbot_bigrams(text): every two-character piece of a text, an IMMUTABLE SQL function (built-ins only, so it
  means the same under any search path);
- ix_work_orders_text_bigrams: a GIN index of gridbot_bigrams(text). For a two-character word that few orders
  contain, the desk asks `gridbot_bigrams(text) @> ARRAY['燃气']` beside the LIKE (the same question for two
  characters); a common word still walks the newest orders, as the planner's misjudged plans for it with the
  bigram condition were 20-70 times slower (storage/repositories/desk_orders.py `_bigram_search` decides from
  the planner's estimate, made from the statistics of the expression, which ANALYZE gathers here).

The models do not declare the index: it is on an expression, which autogenerate cannot compare
(tests/integration/test_storage_contract.py leaves it out by name). SQLite keeps scanning.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIGRAMS = """
CREATE OR REPLACE FUNCTION gridbot_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT coalesce(array_agg(substr(t, i, 2)), '{}') FROM generate_series(1, length(t) - 1) AS i $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(BIGRAMS)
    op.execute("CREATE INDEX ix_work_orders_text_bigrams ON work_orders USING gin (gridbot_bigrams(text))")
    # Statistics of the new expression now, not at autovacuum's next visit: without them the planner would
    # guess how common every word is, and might gather all orders with a common word before sorting them.
    op.execute("ANALYZE work_orders")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_work_orders_text_bigrams")
    op.execute("DROP FUNCTION IF EXISTS gridbot_bigrams(text)")
