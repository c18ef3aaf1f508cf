"""bench_bot's world: a community whose database already holds 100,000 orders, residents of three kinds,
and varied reports.

- the example community with its own settings: the "me too" check is on (same problem, same building,
  within the duplicate window);
- history: `orders` past work orders (2 % still open, their reminders long done; the rest closed) from
  2,000 past residents, spread over three years, written with plain multi-row INSERTs (SQLite and
  PostgreSQL alike), and their statistics rolled up as a running bot has them;
- residents of the run: 70 % registered and consenting, 30 % unknown to the bot (their first report asks
  for consent; the in-process part presses "同意" and the report goes on);
- texts: reports of a dozen kinds in several wordings (some name a compound or a building), so the
  classifier, the routing and the "me too" check see a mix and some reports meet an open one.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bot.schedule.clock import SystemClock
from handlers.community.settings import CommunitySpec, ResidentSpec
from handlers.statistics.rollup import roll_up
from storage.database import make_engine, make_session_factory
from storage.models import BuildingRow, PersonRow, ResidentRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tools.example_community import example_spec, prepare_database

FIRST_RESIDENT = 5_000_000
HISTORY_RESIDENT = 60_000_000
REGISTERED_SHARE = 0.7

REPORTS = (
    "楼道灯坏了，晚上很黑",
    "我们楼道的灯不亮了好几天",
    "垃圾堆了好几天没人清理",
    "小区垃圾桶满了都溢出来了",
    "小区门口乱停车堵路",
    "有人把车停在消防通道上",
    "楼上装修噪音太大了",
    "晚上广场舞声音太吵",
    "家里水管漏水了",
    "电梯坏了困在一楼上不去",
    "下水道堵了污水漫出来",
    "路灯不亮了",
    "绿化带的树枝断了挡路",
    "物业费怎么交",
    "楼下有人遛狗不拴绳",
    "单元门的门禁坏了关不上",
    "兴泰小区5号楼的楼道灯坏了",
    "森源华府6号楼电梯又坏了",
    "井盖松了踩上去晃",
    "外墙瓷砖掉下来了很危险",
)


def is_registered(i: int) -> bool:
    return (i * 7919) % 100 < REGISTERED_SHARE * 100


# Said around a report the way residents do, changing nothing of how it is classified (each checked against
# the 20 reports): with them the texts of any 1,200 reports in a row are all different, as real reports are
# (20 texts repeated would let anything that remembers a text, or classifies a page together, do less work).
OPENINGS = ("", "麻烦问一下，", "跟你们说个事，", "反映个问题：", "我想反映一下，", "那个，")
DETAILS = (
    "",
    "，麻烦尽快处理",
    "，昨天晚上开始的",
    "，之前反映过",
    "，大家都很着急",
    "，什么时候能来处理",
    "，麻烦了",
    "，希望早点解决",
    "，拜托了",
    "，不知道找谁",
)
VARIANTS = len(OPENINGS) * len(REPORTS) * len(DETAILS)  # 1,200


def report_text(i: int) -> str:
    k = (i * 7) % VARIANTS  # 7 is prime to 1,200: k runs through every variant before one comes again
    opening, rest = divmod(k, len(REPORTS) * len(DETAILS))
    report, detail = divmod(rest, len(DETAILS))
    return OPENINGS[opening] + REPORTS[report] + DETAILS[detail]


def bench_spec(residents: int) -> CommunitySpec:
    """The example community (its own settings: "me too" on) and the registered residents of the run."""
    spec = example_spec()
    homes = [(c.name, b.number) for c in spec.compounds for b in c.buildings]
    listed = tuple(
        ResidentSpec(f"居民{i}", FIRST_RESIDENT + i, *homes[i % len(homes)], None, None, consented=True)
        for i in range(residents)
        if is_registered(i)
    )
    return dataclasses.replace(spec, residents=spec.residents + listed)


async def prepare(url: str, residents: int, orders: int) -> None:
    """Migrate, import the community with the run's registered residents, add `orders` past orders."""
    await prepare_database(url, bench_spec(residents))
    await fill_history(url, orders)


async def fill_history(url: str, orders: int, seed: int = 42) -> None:
    rng = random.Random(seed)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            buildings = (
                await connection.execute(select(BuildingRow.id, BuildingRow.compound_id, BuildingRow.grid_id))
            ).all()
            people = [int(p) for p in await connection.scalars(select(PersonRow.id).where(PersonRow.active))]
            past = [
                {
                    "chat_id": HISTORY_RESIDENT + k,
                    "name": f"往户{k}",
                    "consented_at": now,
                    "phone_consent": False,
                }
                for k in range(2000)
            ]
            await connection.execute(insert(ResidentRow), past)
            resident_ids = list(
                await connection.scalars(
                    select(ResidentRow.id).where(ResidentRow.chat_id >= HISTORY_RESIDENT)
                )
            )
            categories = ["repair"] * 6 + ["sanitation"] * 4 + ["parking"] * 3 + ["order_dispute"] * 2
            categories += ["utility_payment", "assistance", "policy", "safety_hazard", "other"]
            rows = []
            for n in range(orders):
                b = buildings[rng.randrange(len(buildings))]
                open_ = rng.random() < 0.02
                age = timedelta(days=rng.uniform(0, 30) if open_ else rng.uniform(30, 3 * 365))
                created = now - age
                state = rng.choice(["assigned", "accepted"]) if open_ else "closed"
                rows.append(
                    {
                        "number": f"H{n:08d}",
                        "resident_id": resident_ids[n % len(resident_ids)],
                        "text": "历史工单",
                        "category": rng.choice(categories),
                        "priority": "normal",
                        "state": state,
                        "compound_id": b.compound_id,
                        "building_id": b.id,
                        "grid_id": b.grid_id,
                        "assignee_id": rng.choice(people),
                        "keywords": [],
                        "confidence": 0.9,
                        "category_chosen_by_resident": False,
                        "resolution_note": "",
                        "photos": [],
                        "created_at": created,
                        "updated_at": created,
                        "accept_due_at": created + timedelta(hours=4) if open_ else None,
                        "resolve_due_at": created + timedelta(days=3) if open_ else None,
                        "next_timer_at": None,  # reminded and escalated long ago: the ticks stay quiet
                        "followers": [],
                    }
                )
                if len(rows) == 2000:
                    await connection.execute(insert(WorkOrderRow), rows)
                    rows = []
            if rows:
                await connection.execute(insert(WorkOrderRow), rows)
        # The statistics of those years, as a running bot has them (its first ticks would backfill them).
        await roll_up(SqlUnitOfWorkFactory(make_session_factory(engine), SystemClock()), SystemClock(), None)
    finally:
        await engine.dispose()
