"""`make desk`: the example community with two weeks of orders in desk-demo.db, the desk, a login link.

The history is made the way it happens: residents report in chat and members press the chat's buttons,
through the core, with a clock that walks through the past fortnight. Run: python -m web.demo [DB-FILE].
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers import verbs as callbacks
from handlers.community.model import Resident
from handlers.core import Core
from handlers.messages import Incoming
from handlers.verbs import Verb
from handlers.workorders.sla import WeekdayCalendar
from nlp.types import Classifier
from storage.uow import SqlUnitOfWorkFactory
from web.manage.demo_care import seed_care

DEMO_STAFF = "陈主任"


class WalkingClock:
    """A clock the seeding moves through the past; then it reads the real time."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.at: datetime | None = None

    def now(self) -> datetime:
        return self.at or datetime.now(self.zone)


@dataclass(frozen=True)
class Story:
    """One resident's report and how far it got: accepted, resolved (with a note), rated."""

    chat_id: int
    name: str
    compound: str
    building: str
    phone: str
    text: str
    days_ago: float
    member: int | None = None  # who presses the buttons (their chat id); None: nobody yet
    steps: tuple[str, ...] = ()  # accept, resolve, rate:s|b|u, supervise, transfer:<chat id>


STORIES = (
    Story(
        9101,
        "王秀英",
        "兴泰小区",
        "3",
        "13800001111",
        "3号楼楼道灯坏了好几天，晚上黑乎乎的老人下楼不安全",
        13,
        2002,
        ("accept", "resolve", "rate:s"),
    ),
    Story(
        9102,
        "刘建华",
        "森源华府",
        "2",
        "13800002222",
        "2号楼门口的垃圾桶满了没人清理，味道很大",
        12,
        2102,
        ("accept", "resolve", "rate:b"),
    ),
    Story(
        9103,
        "陈桂兰",
        "阳光上城",
        "1",
        "13800003333",
        "1号楼下水道堵了，污水冒到路面上",
        11,
        2202,
        ("accept", "resolve", "rate:u"),
    ),
    Story(
        9104,
        "赵明",
        "宝山花园",
        "4",
        "13800004444",
        "有人冒充社区工作人员打电话，说医保卡要冻结，让我把钱转到安全账户",
        10,
        None,
        (),
    ),
    Story(
        9105,
        "孙丽",
        "太平洋",
        "2",
        "13800005555",
        "小区里的电动车乱停在消防通道上，车都开不进来",
        9,
        2002,
        ("accept",),
    ),
    Story(
        9106,
        "周强",
        "南通新区",
        "7",
        "13800006666",
        "7号楼电梯又坏了，困在里面半小时才出来",
        8,
        2202,
        ("accept", "resolve", "rate:s"),
    ),
    Story(
        9107,
        "吴芳",
        "滨河花园",
        "5",
        "13800007777",
        "楼上装修每天早上七点就开始电钻，休息不好",
        7,
        2102,
        ("supervise",),
    ),
    Story(
        9108,
        "郑伟",
        "宝山丽湾",
        "1",
        "13800008888",
        "想咨询一下60岁以上老人的高龄补贴怎么申请",
        6,
        2302,
        ("accept", "resolve"),
    ),
    Story(
        9109,
        "冯秀珍",
        "兴泰小区",
        "8",
        "13800009999",
        "8号楼外墙瓷砖松动快掉下来了，下面经常有小孩玩",
        5,
        2002,
        ("transfer:2003",),
    ),
    Story(9110, "何军", "安居苑", "2", "13800001234", "工地老板拖欠我们三个月工资不给", 4, None, ()),
    Story(
        9111,
        "马丽娟",
        "森源华府",
        "6",
        "13800002345",
        "6号楼单元门的门禁坏了，谁都能进来",
        3,
        2102,
        ("accept",),
    ),
    Story(
        9112,
        "林涛",
        "阳光上城",
        "5",
        "13800003456",
        "小区绿化带里的树枝断了挂在半空，刮风怕砸到人",
        2,
        2202,
        (),
    ),
    Story(
        9113,
        "黄淑芬",
        "兴泰小区",
        "10",
        "13800004567",
        "10号楼有户人家养狗不拴绳，吓到小孩了",
        1,
        2003,
        ("accept",),
    ),
    Story(9114, "杨光", "宝山花园", "7", "13800005678", "7号楼前面的路灯不亮了", 0.3, None, ()),
)


async def _resident(uow_factory: SqlUnitOfWorkFactory, story: Story, now: datetime) -> None:
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(story.compound)
        assert compound is not None, story.compound
        building = await uow.community.find_building(compound.id, story.building)
        resident = Resident(
            id=None,
            chat_id=story.chat_id,
            name=story.name,
            consented_at=now,
            building_id=building.id if building else None,
            phone=story.phone,
            phone_consent=True,
        )
        await uow.residents.save(resident)
        await uow.commit()


async def _latest_order(uow_factory: SqlUnitOfWorkFactory, chat_id: int) -> int | None:
    async with uow_factory() as uow:
        resident = await uow.residents.by_chat(chat_id)
        orders = await uow.orders.for_resident(resident.id, 1) if resident and resident.id else []
        return orders[0].id if orders else None


async def seed_history(uow_factory: SqlUnitOfWorkFactory, classifier: Classifier, zone: ZoneInfo) -> int:
    """Play the stories through the core; returns how many orders were opened."""
    clock = WalkingClock(zone)
    core = Core(uow_factory, classifier, clock, WeekdayCalendar())
    start = datetime.now(zone)
    async with uow_factory() as uow:
        people = {p.chat_id: p.id for p in await uow.community.people()}
    opened = 0
    for n, story in enumerate(STORIES):
        clock.at = start - timedelta(days=story.days_ago)
        await _resident(uow_factory, story, clock.now())
        await core.handle(
            Incoming(story.chat_id, story.chat_id, story.name, text=story.text, dedupe_key=f"demo:{n}")
        )
        order_id = await _latest_order(uow_factory, story.chat_id)
        if order_id is None:
            continue
        opened += 1
        for step in story.steps:
            clock.at = clock.now() + timedelta(hours=2)
            await _step(core, story, order_id, step, people)
    clock.at = None
    await seed_care(uow_factory, start)
    return opened


async def _step(core: Core, story: Story, order_id: int, step: str, people: dict[int, int]) -> None:
    member = story.member or 0

    async def press(chat_id: int, verb: Verb, *args: int | str) -> None:
        await core.handle(Incoming(chat_id, chat_id, callback_data=callbacks.encode(verb, *args)))

    if step == "accept":
        await press(member, Verb.ACCEPT, order_id)
    elif step == "resolve":
        await press(member, Verb.RESOLVE, order_id)
        await core.handle(Incoming(member, member, text="已经安排人处理好了，请您看看是否满意。"))
    elif step.startswith("rate:"):
        await press(story.chat_id, Verb.RATE, order_id, step[5:])
    elif step == "supervise":
        await press(1002, Verb.SUPERVISE, order_id)  # 陈主任
    elif step.startswith("transfer:"):
        await press(member, Verb.TRANSFER_TO, order_id, people[int(step[9:])])


async def build(db_file: Path) -> str:
    """A fresh demo database; returns a login link for the example staff member."""
    from bot.app import compound_aliases
    from bot.settings import Settings
    from nlp import load_classifier
    from storage.database import make_engine, make_session_factory
    from tools.example_community import prepare_database
    from web.cli import login_link, public_url

    url = f"sqlite+aiosqlite:///{db_file}"
    await prepare_database(url)
    settings = Settings.from_variables({"GRIDBOT_DATABASE_URL": url})
    zone = ZoneInfo(settings.timezone)
    engine = make_engine(url)
    try:
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), WalkingClock(zone))
        async with factory() as uow:
            await uow.desk.publish(public_url(settings), datetime.now(zone))
            await uow.commit()
        classifier = load_classifier(settings.nlp.rules_file, await compound_aliases(factory))
        opened = await seed_history(factory, classifier, zone)
    finally:
        await engine.dispose()
    print(f"desk-demo: {opened} work orders in {db_file}")  # noqa: T201  (a command's output)
    link = await login_link(settings, DEMO_STAFF)
    assert link is not None
    return link


def main() -> None:
    db_file = Path(sys.argv[1] if len(sys.argv) > 1 else "desk-demo.db")
    for suffix in ("", "-wal", "-shm"):  # fresh each time: the same demo for everyone
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    link = asyncio.run(build(db_file))
    print(f"\n打开这个链接登录工作台（{DEMO_STAFF}，10 分钟内有效）：\n{link}\n")  # noqa: T201


if __name__ == "__main__":
    main()
