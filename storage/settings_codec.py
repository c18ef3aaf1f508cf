"""CommunitySettings and duty hours <-> JSON, as stored in the database."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from handlers.community.model import DutyHours
from handlers.community.settings import CommunitySettings, SlaRule


def settings_to_json(settings: CommunitySettings) -> dict[str, Any]:
    return {
        "assignment": settings.assignment,
        "sla": {k: [r.accept.total_seconds(), r.resolve.total_seconds()] for k, r in settings.sla.items()},
        "working_time": settings.working_time,
        "working_hours": [settings.working_hours[0].isoformat(), settings.working_hours[1].isoformat()],
        "remind_before": settings.remind_before,
        "escalate_every": settings.escalate_every.total_seconds(),
        "green_channel_factor": settings.green_channel_factor,
        "duplicate_window": settings.duplicate_window.total_seconds(),
        "emergency_confirm_within": settings.emergency_confirm_within.total_seconds(),
        "checkin_time": settings.checkin_time.isoformat(),
        "checkin_answer_within": settings.checkin_answer_within.total_seconds(),
        "checkin_escalate_after": settings.checkin_escalate_after.total_seconds(),
        "rating_remind_after": settings.rating_remind_after.total_seconds(),
        "rating_close_after": settings.rating_close_after.total_seconds(),
    }


def settings_from_json(data: dict[str, Any]) -> CommunitySettings:
    default = CommunitySettings()

    def seconds(key: str, fallback: timedelta) -> timedelta:
        return timedelta(seconds=data[key]) if key in data else fallback

    hours = data.get("working_hours")
    return CommunitySettings(
        assignment=data.get("assignment", default.assignment),
        sla={k: SlaRule(timedelta(seconds=a), timedelta(seconds=r)) for k, (a, r) in data["sla"].items()}
        if "sla" in data
        else default.sla,
        working_time=data.get("working_time", default.working_time),
        working_hours=(time.fromisoformat(hours[0]), time.fromisoformat(hours[1]))
        if hours
        else default.working_hours,
        remind_before=data.get("remind_before", default.remind_before),
        escalate_every=seconds("escalate_every", default.escalate_every),
        green_channel_factor=data.get("green_channel_factor", default.green_channel_factor),
        duplicate_window=seconds("duplicate_window", default.duplicate_window),
        emergency_confirm_within=seconds("emergency_confirm_within", default.emergency_confirm_within),
        checkin_time=time.fromisoformat(data["checkin_time"])
        if "checkin_time" in data
        else default.checkin_time,
        checkin_answer_within=seconds("checkin_answer_within", default.checkin_answer_within),
        checkin_escalate_after=seconds("checkin_escalate_after", default.checkin_escalate_after),
        rating_remind_after=seconds("rating_remind_after", default.rating_remind_after),
        rating_close_after=seconds("rating_close_after", default.rating_close_after),
    )


def duty_to_json(duty: DutyHours | None) -> dict[str, Any] | None:
    if duty is None:
        return None
    return {"days": sorted(duty.weekdays), "start": duty.start.isoformat(), "end": duty.end.isoformat()}


def duty_from_json(data: dict[str, Any] | None) -> DutyHours | None:
    if not data:
        return None
    return DutyHours(
        frozenset(data["days"]), time.fromisoformat(data["start"]), time.fromisoformat(data["end"])
    )
