"""The `settings:` and `sla:` sections of a community file, and people's duty hours."""

from __future__ import annotations

import re

from bot.imports.yaml_source import Node, Reader, parse_clock_time
from handlers.community.model import DutyHours
from handlers.community.settings import DEFAULT_SLA, CommunitySettings, SlaRule
from nlp.categories import SHIPPED, Catalog
from nlp.types import Priority

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DUTY = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


def parse_duty(raw: str) -> DutyHours | None:
    """ "mon-fri 08:30-17:30", "daily 08:00-20:00", "mon,wed,sat 09:00-12:00"."""
    match = _DUTY.match(raw.strip().lower())
    if match is None:
        return None
    start, end = parse_clock_time(match["start"].zfill(5)), parse_clock_time(match["end"].zfill(5))
    if start is None or end is None or start >= end:
        return None
    days: set[int] = set()
    for part in match["days"].split(","):
        if part == "daily":
            days.update(range(7))
        elif "-" in part:
            first, _, last = part.partition("-")
            if first not in _DAYS or last not in _DAYS:
                return None
            days.update(range(_DAYS.index(first), _DAYS.index(last) + 1))
        elif part in _DAYS:
            days.add(_DAYS.index(part))
        else:
            return None
    return DutyHours(frozenset(days), start, end) if days else None


def unknown_category(key: str, categories: Catalog) -> str:
    """The problem line for a category key the community does not have."""
    known = ", ".join(str(c) for c in categories.choosable)
    return f"unknown category {key!r} (one of: {known}; a new one is declared in the rules file, GRIDBOT_RULES_FILE)"


def parse_settings(
    r: Reader, settings_node: Node | None, sla_node: Node | None, categories: Catalog = SHIPPED
) -> CommunitySettings:
    fields = r.mapping(settings_node, "settings")
    defaults = CommunitySettings()
    known = {
        "assignment",
        "working_time",
        "working_hours",
        "remind_before",
        "escalate_every",
        "green_channel_factor",
        "duplicate_window",
        "emergency_confirm_within",
        "checkin",
        "rating",
    }
    for key, node in fields.items():
        if key not in known:
            r.fail(node, f"settings.{key}", f"unknown setting (one of: {', '.join(sorted(known))})")
    assignment = (
        r.text(fields.get("assignment"), "settings.assignment", required=False) or defaults.assignment
    )
    if assignment not in ("least_loaded", "round_robin"):
        r.fail(fields.get("assignment"), "settings.assignment", "should be least_loaded or round_robin")
    working_hours = defaults.working_hours
    raw_hours = r.text(fields.get("working_hours"), "settings.working_hours", required=False)
    if raw_hours is not None:
        duty = parse_duty(f"daily {raw_hours}")
        if duty is None:
            r.fail(fields.get("working_hours"), "settings.working_hours", "should look like 08:30-17:30")
        else:
            working_hours = (duty.start, duty.end)
    checkin = r.mapping(fields.get("checkin"), "settings.checkin")
    rating = r.mapping(fields.get("rating"), "settings.rating")
    for key, node in rating.items():
        if key not in ("remind_after", "close_after"):
            r.fail(node, f"settings.rating.{key}", "unknown setting (one of: close_after, remind_after)")
    remind_after = (
        r.duration(rating.get("remind_after"), "settings.rating.remind_after") or defaults.rating_remind_after
    )
    close_after = (
        r.duration(rating.get("close_after"), "settings.rating.close_after") or defaults.rating_close_after
    )
    if close_after <= remind_after:
        r.fail(rating.get("close_after"), "settings.rating.close_after", "should be later than remind_after")
    return CommunitySettings(
        assignment=assignment,
        sla=_parse_sla(r, sla_node, categories),
        working_time=_flag(r, fields.get("working_time"), "settings.working_time", defaults.working_time),
        working_hours=working_hours,
        remind_before=_fraction(
            r, fields.get("remind_before"), "settings.remind_before", defaults.remind_before
        ),
        escalate_every=r.duration(fields.get("escalate_every"), "settings.escalate_every")
        or defaults.escalate_every,
        green_channel_factor=_fraction(
            r,
            fields.get("green_channel_factor"),
            "settings.green_channel_factor",
            defaults.green_channel_factor,
        ),
        duplicate_window=r.duration(fields.get("duplicate_window"), "settings.duplicate_window")
        or defaults.duplicate_window,
        emergency_confirm_within=r.duration(
            fields.get("emergency_confirm_within"), "settings.emergency_confirm_within"
        )
        or defaults.emergency_confirm_within,
        checkin_time=r.clock_time(checkin.get("time"), "settings.checkin.time") or defaults.checkin_time,
        checkin_answer_within=r.duration(checkin.get("answer_within"), "settings.checkin.answer_within")
        or defaults.checkin_answer_within,
        checkin_escalate_after=r.duration(checkin.get("escalate_after"), "settings.checkin.escalate_after")
        or defaults.checkin_escalate_after,
        rating_remind_after=remind_after,
        rating_close_after=close_after,
    )


def _flag(r: Reader, node: Node | None, where: str, default: bool) -> bool:
    if node is None:
        return default
    if not isinstance(node.value, bool):
        r.fail(node, where, "should be true or false")
        return default
    return node.value


def _fraction(r: Reader, node: Node | None, where: str, default: float) -> float:
    if node is None:
        return default
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        r.fail(node, where, "should be a number between 0 and 1")
        return default
    return float(value)


def _parse_sla(r: Reader, node: Node | None, categories: Catalog) -> dict[str, SlaRule]:
    """`sla:` maps a category key (the community's: `categories`) or a priority name to {accept: 2h,
    resolve: 3d}."""
    rules = dict(DEFAULT_SLA)
    priorities = {p.value for p in Priority}
    for key, rule_node in r.mapping(node, "sla").items():
        where = f"sla.{key}"
        if key not in priorities and key not in categories:
            r.fail(
                rule_node, where, unknown_category(key, categories) + " or a priority (urgent, high, normal)"
            )
            continue
        fields = r.mapping(rule_node, where)
        accept = r.duration(fields.get("accept"), f"{where}.accept")
        resolve = r.duration(fields.get("resolve"), f"{where}.resolve")
        base = rules.get(key) or DEFAULT_SLA[Priority.NORMAL.value]
        rule = SlaRule(accept or base.accept, resolve or base.resolve)
        if rule.accept > rule.resolve:
            r.fail(rule_node, where, "accept should not be later than resolve")
        rules[key] = rule
    return rules
