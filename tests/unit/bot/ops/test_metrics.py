"""Counters and the latency histogram, each app with its own registry."""

from __future__ import annotations

import pytest

from bot.delivery.replies import DeliveryError, RetryLater, Unreachable
from bot.ops.metrics import Metrics, update_kind
from handlers.messages import Incoming, Outcome, Reply
from handlers.ports import Happened, Notice


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_update_kinds() -> None:
    assert update_kind(Incoming(1, 1, text="楼道灯坏了")) == "text"
    assert update_kind(Incoming(1, 1, text="/my")) == "command"
    assert update_kind(Incoming(1, 1, photo="file-1")) == "photo"
    assert update_kind(Incoming(1, 1, photo="file-1", text="看图")) == "photo"
    assert update_kind(Incoming(1, 1, location=(31.2, 121.4))) == "location"
    assert update_kind(Incoming(1, 1, callback_data="ac:1")) == "button"


def test_handled_updates_duplicates_and_latency() -> None:
    metrics = Metrics()
    metrics.handled(Incoming(1, 1, text="楼道灯坏了"), Outcome(), 0.03)
    metrics.handled(Incoming(1, 1, callback_data="ac:1"), Outcome(), 0.2)
    metrics.handled(Incoming(1, 1, text="楼道灯坏了"), Outcome(duplicate=True), 0.001)
    assert value(metrics, "gridbot_updates_handled_total", kind="text") == 1
    assert value(metrics, "gridbot_updates_handled_total", kind="button") == 1
    assert value(metrics, "gridbot_updates_duplicate_total") == 1
    assert value(metrics, "gridbot_handler_latency_seconds_count") == 3
    assert value(metrics, "gridbot_handler_latency_seconds_bucket", le="0.05") == 2
    assert value(metrics, "gridbot_handler_latency_seconds_sum") == pytest.approx(0.231)


def test_core_notices() -> None:
    metrics = Metrics()
    metrics.observe(Notice(Happened.ORDER_OPENED, "repair"))
    metrics.observe(Notice(Happened.ORDER_OPENED, "emergency"))
    metrics.observe(Notice(Happened.ORDER_OPENED, "repair"))
    metrics.observe(Notice(Happened.REMINDED))
    metrics.observe(Notice(Happened.ESCALATED, "1"))
    metrics.observe(Notice(Happened.ESCALATED, "2"))
    assert value(metrics, "gridbot_orders_opened_total", category="repair") == 2
    assert value(metrics, "gridbot_orders_opened_total", category="emergency") == 1
    assert value(metrics, "gridbot_sla_reminders_total") == 1
    assert value(metrics, "gridbot_sla_escalations_total", level="1") == 1
    assert value(metrics, "gridbot_sla_escalations_total", level="2") == 1


class ScriptedMessenger:
    def __init__(self, *results: int | Exception) -> None:
        self.results = list(results)

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


async def test_metered_messenger_counts_outcomes_and_passes_them_through() -> None:
    metrics = Metrics()
    inner = ScriptedMessenger(7, RetryLater(3.0), Unreachable("blocked"), DeliveryError("boom"))
    messenger = metrics.metered(inner, "outbox")
    reply = Reply(1, "hi")
    assert await messenger.send(reply, None) == 7
    with pytest.raises(RetryLater) as retry:
        await messenger.send(reply, None)
    assert retry.value.seconds == 3.0
    with pytest.raises(Unreachable):
        await messenger.send(reply, None)
    with pytest.raises(DeliveryError):
        await messenger.send(reply, None)
    assert value(metrics, "gridbot_deliveries_total", queue="outbox", outcome="sent") == 1
    assert value(metrics, "gridbot_deliveries_total", queue="outbox", outcome="unreachable") == 1
    assert value(metrics, "gridbot_deliveries_total", queue="outbox", outcome="failed") == 1
    assert value(metrics, "gridbot_telegram_rate_limited_total", queue="outbox") == 1
    assert value(metrics, "gridbot_deliveries_total", queue="broadcast", outcome="sent") == 0


def test_registries_are_separate_and_render_the_text_format() -> None:
    one, two = Metrics(), Metrics()
    one.observe(Notice(Happened.ORDER_OPENED, "fraud"))
    assert value(two, "gridbot_orders_opened_total", category="fraud") == 0
    text = one.render().decode()
    assert 'gridbot_orders_opened_total{category="fraud"} 1.0' in text
    assert "# TYPE gridbot_handler_latency_seconds histogram" in text
