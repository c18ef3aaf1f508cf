"""bench_load's history generator: N past work orders (+ their events) made inside PostgreSQL.

One `INSERT ... SELECT` over `generate_series` per table, so a million orders take seconds, not an hour of
round trips. The distribution (seeded, so every run is the same):

- created_at evenly spread over the last `years` (ids increase with time, as in production);
- 65 buildings of the example community (building, compound, grid), ~14 people as assignees (each building's
  grid members and leader; no assignee for orders still "new");
- categories weighted like a residential community (repairs, sanitation, parking first);
- ~2% open: most orders of the last 30 days are still open (60%), a few stale ones (0.4%) older;
  open = new 5% / assigned 25% / accepted 50% / resolved 20%, with due times, some already late, and a
  next timer; the rest closed (96%, rated 80/15/5 satisfied/basically/unsatisfied) or cancelled (4%);
- events: created, assigned, accepted, resolved, rated (note = satisfaction), reopened (the unsatisfied
  ones), closed or cancelled, as far as each order got: ~5.8 per order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CATEGORIES = (
    ["repair"] * 6
    + ["sanitation"] * 4
    + ["parking"] * 3
    + ["order_dispute"] * 2
    + ["utility_payment"] * 2
    + ["assistance"] * 2
    + ["policy", "safety_hazard", "other", "employment", "fraud", "emergency", "wage_arrears"]
)


def _array(values: list[int] | list[str]) -> str:
    if values and isinstance(values[0], str):
        return "ARRAY[" + ",".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]::text[]"
    return "ARRAY[" + ",".join(str(int(v)) for v in values) + "]::bigint[]"


async def load_history(
    connection: AsyncConnection, orders: int, now: datetime, years: float = 3.0, residents: int = 20_000
) -> dict[str, int]:
    """Fill residents, work_orders and order_events; returns the row counts."""
    await connection.execute(text("SELECT setseed(0.42)"))
    buildings = (
        await connection.execute(text("SELECT id, compound_id, grid_id, number FROM buildings ORDER BY id"))
    ).all()
    people = (await connection.execute(text("SELECT id, grid_id, roles FROM people ORDER BY id"))).all()
    everyone = [int(p.id) for p in people]
    # Three assignee candidates per building: its grid's members (twice as likely) and leader.
    candidates: list[int] = []
    for k, b in enumerate(buildings):
        grid = [p for p in people if p.grid_id == b.grid_id and b.grid_id is not None]
        members = [int(p.id) for p in grid if "grid_member" in p.roles] or everyone
        leaders = [int(p.id) for p in grid if "grid_leader" in p.roles] or members
        candidates += [members[k % len(members)], members[(k + 1) % len(members)], leaders[0]]
    n_buildings = len(buildings)
    first_resident = int(
        (
            await connection.execute(
                text(
                    "INSERT INTO residents (chat_id, name, consented_at, building_id, phone_consent, checkin) "
                    f"SELECT 70000000 + g, '居民' || g, :now - interval '{int(years * 366)} days', "
                    f"({_array([int(b.id) for b in buildings])})[1 + g % {n_buildings}], false, false "
                    f"FROM generate_series(1, {residents}) g RETURNING id"
                ).bindparams(now=now)
            )
        )
        .scalars()
        .first()
        or 0
    )  # ids are consecutive: one statement on a fresh table
    span_seconds = years * 365 * 86400
    await connection.execute(
        text(
            f"""
INSERT INTO work_orders (number, resident_id, text, category, priority, state, compound_id, building_id,
    building_number, unit, room, grid_id, assignee_id, satisfaction, keywords, confidence,
    category_chosen_by_resident, resolution_note, photos, created_at, updated_at, accept_due_at,
    resolve_due_at, escalation_level, reminded, next_timer_at, supervised, green_channel, followers)
SELECT 'H' || lpad(g::text, 12, '0'),
    {first_resident} + (g::bigint * 7919) % {residents},
    '楼道灯坏了，晚上很黑', category,
    CASE WHEN category = 'emergency' THEN 'urgent' WHEN r3 < 0.1 THEN 'high' ELSE 'normal' END,
    state,
    ({_array([int(b.compound_id) for b in buildings])})[1 + k],
    ({_array([int(b.id) for b in buildings])})[1 + k],
    ({_array([str(b.number) for b in buildings])})[1 + k],
    '1', '101',
    ({_array([int(b.grid_id or 0) for b in buildings])})[1 + k],
    CASE WHEN state = 'new' THEN NULL ELSE ({_array(candidates)})[1 + k * 3 + g % 3] END,
    CASE WHEN state <> 'closed' THEN NULL WHEN r3 < 0.80 THEN 'satisfied' WHEN r3 < 0.95 THEN 'basically'
         ELSE 'unsatisfied' END,
    '["灯"]'::json, 0.9, false,
    CASE WHEN state IN ('resolved', 'closed') THEN '已更换灯泡' ELSE '' END,
    '[]'::json, created_at, created_at + interval '1 day',
    created_at + interval '4 hours',
    CASE WHEN state IN ('accepted', 'resolved', 'closed') THEN created_at + interval '5 days' END,
    0, false,
    CASE WHEN state IN ('new', 'assigned') THEN created_at + interval '3 hours'
         WHEN state = 'accepted' THEN created_at + interval '4 days' END,
    false, '', '[]'::json
FROM (
    SELECT g, k, created_at, r3,
        (ARRAY{CATEGORIES!r})[1 + floor(r2 * {len(CATEGORIES)})::int] AS category,
        CASE
            WHEN (recent AND r1 < 0.60) OR (NOT recent AND r1 < 0.004) THEN
                CASE WHEN r4 < 0.05 THEN 'new' WHEN r4 < 0.30 THEN 'assigned'
                     WHEN r4 < 0.80 THEN 'accepted' ELSE 'resolved' END
            WHEN r4 < 0.04 THEN 'cancelled'
            ELSE 'closed'
        END AS state
    FROM (
        SELECT g, (g * 31) % {n_buildings} AS k,
            CAST(:now AS timestamptz) - make_interval(secs => ({orders} - g) * {span_seconds / orders}) AS created_at,
            ({orders} - g) * {span_seconds / orders} < 30 * 86400 AS recent,
            random() AS r1, random() AS r2, random() AS r3, random() AS r4
        FROM generate_series(1, {orders}) g
    ) s1
) s2
"""
        ).bindparams(now=now)
    )
    await connection.execute(
        text(
            """
INSERT INTO order_events (order_id, at, kind, actor_kind, actor_id, note)
SELECT o.id, o.created_at + e.off, e.kind, e.actor_kind, NULL,
    CASE WHEN e.kind = 'rated' THEN o.satisfaction ELSE '' END
FROM work_orders o CROSS JOIN LATERAL (VALUES
    ('created', interval '0', 'resident', true),
    ('assigned', interval '1 second', 'system', o.assignee_id IS NOT NULL),
    ('accepted', interval '40 minutes', 'person', o.state IN ('accepted', 'resolved', 'closed')),
    ('resolved', interval '1 day', 'person', o.state IN ('resolved', 'closed')),
    ('rated', interval '26 hours', 'resident', o.satisfaction IS NOT NULL),
    ('reopened', interval '26 hours 1 second', 'resident', o.satisfaction = 'unsatisfied'),
    ('closed', interval '3 days', 'system', o.state = 'closed'),
    ('cancelled', interval '2 hours', 'resident', o.state = 'cancelled')
) AS e(kind, off, actor_kind, keep)
WHERE e.keep
"""
        )
    )
    counts = {}
    for table in ("residents", "work_orders", "order_events"):
        counts[table] = int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
    return counts
