"""The weekly duty rota (值班表), kept in chat: `/rota` shows when each member of the grid is on duty, and the grid
leader (staff: anyone) changes it with `/rota 张伟 周一至周五 08:30-17:30` or `/rota 张伟 全天`.

Duty hours decide routing at once: outside them (like on leave) new orders go to the person's deputy, then the
grid leader. The community file's `duty:` gives the starting rota; re-importing the file sets it again.
"""

from __future__ import annotations

import re
from datetime import time

from handlers.community.model import DutyHours, Person, Role
from handlers.context import Context
from handlers.errors import NotAuthorised

_DAY_NAMES = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{f"周{c}": i for i, c in enumerate("一二三四五六日")},
    "周天": 6,
}
_ALL_DAYS = ("每天", "天天", "daily", "周一至周日")
_ALWAYS = ("全天", "不限", "always", "clear")
_HOURS = re.compile(r"^(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*(?:-|至|到)\s*(?P<end>\d{1,2}:\d{2})$")
_SHOWN = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
USAGE = (
    "用法：/rota 姓名 周一至周五 08:30-17:30（也可写 每天 08:00-20:00、周一,周三,周六 09:00-12:00）；"
    "/rota 姓名 全天 表示随时在岗。"
)


def _clock(raw: str) -> time | None:
    hours, _, minutes = raw.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        return None
    return time(int(hours), int(minutes))


def _days(raw: str) -> frozenset[int] | None:
    if raw in _ALL_DAYS:
        return frozenset(range(7))
    days: set[int] = set()
    for part in raw.split(","):
        first, sep, last = (
            re.split(r"(至|到|-)", part, maxsplit=1) if re.search("至|到|-", part) else (part, "", "")
        )
        if first not in _DAY_NAMES or (sep and last not in _DAY_NAMES):
            return None
        start, end = _DAY_NAMES[first], _DAY_NAMES[last] if sep else _DAY_NAMES[first]
        if end < start:
            return None
        days.update(range(start, end + 1))
    return frozenset(days) or None


def parse_rota(raw: str) -> DutyHours | None:
    """周一至周五 08:30-17:30 / 每天 08:00-20:00 / 周一,周三,周六 09:00-12:00 / mon-fri 08:30-17:30."""
    text = raw.strip().lower().replace("星期", "周").replace("：", ":").replace("～", "-").replace("~", "-")
    text = re.sub(r"[，、]", ",", text)
    match = _HOURS.match(text)
    if match is None:
        return None
    days = _days(match["days"])
    start, end = _clock(match["start"]), _clock(match["end"])
    if days is None or start is None or end is None or start >= end:
        return None
    return DutyHours(days, start, end)


def rota_label(duty: DutyHours | None) -> str:
    """DutyHours as people read them: 周一至周五 08:30-17:30; 全天 for always on duty."""
    if duty is None:
        return "全天"
    days = sorted(duty.weekdays)
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    if days == list(range(7)):
        named = "每天"
    else:
        named = "、".join(_SHOWN[r[0]] if len(r) == 1 else f"{_SHOWN[r[0]]}至{_SHOWN[r[-1]]}" for r in runs)
    return f"{named} {duty.start:%H:%M}-{duty.end:%H:%M}"


def _viewer(ctx: Context) -> Person:
    person = ctx.person
    if person is None or not (person.is_staff or person.has(Role.GRID_MEMBER, Role.GRID_LEADER)):
        raise NotAuthorised("not_allowed")
    return person


async def _team(ctx: Context, editor: Person) -> list[Person]:
    people = await ctx.uow.community.people()
    members = [p for p in people if p.has(Role.GRID_MEMBER, Role.GRID_LEADER)]
    return members if editor.is_staff else [p for p in members if p.grid_id == editor.grid_id]


async def rota(ctx: Context, args: str) -> None:
    """/rota: the grid's weekly duty rota; /rota 姓名 时间: change one member's (grid leader or staff)."""
    editor = _viewer(ctx)
    team = await _team(ctx, editor)
    name, _, hours = args.strip().partition(" ")
    if not name:
        lines = ["📅 值班表（值班时间以外，新工单交给代班人）："]
        for person in team:
            deputy = await ctx.uow.community.person(person.deputy_id) if person.deputy_id else None
            also = f"｜代班：{deputy.name}" if deputy is not None else ""
            lines.append(f"• {person.title}：{rota_label(person.duty)}{also}")
        may_edit = editor.is_staff or editor.has(Role.GRID_LEADER)
        await ctx.answer("\n".join([*lines, USAGE] if may_edit else lines))
        return
    if not (editor.is_staff or editor.has(Role.GRID_LEADER)):
        raise NotAuthorised("not_allowed")  # members read the rota; their grid leader changes it
    target = next((p for p in team if p.name == name), None)
    if target is None:
        await ctx.answer(f"您负责的网格里没有“{name}”。发送 /rota 查看名单。")
        return
    hours = hours.strip()
    duty = None if hours.lower() in _ALWAYS else parse_rota(hours)
    if duty is None and hours.lower() not in _ALWAYS:
        await ctx.answer(USAGE)
        return
    await ctx.uow.community.set_duty(target.id, duty)
    label = rota_label(duty)
    await ctx.answer(f"已更新 {target.title} 的值班时间：{label}。")
    if target.id != editor.id:
        deputy = await ctx.uow.community.person(target.deputy_id) if target.deputy_id else None
        handover = f"值班时间以外的新工单会交给代班人 {deputy.name}。" if deputy and duty else ""
        await ctx.say(target.chat_id, f"📅 {editor.title} 调整了您的值班时间：{label}。{handover}")
