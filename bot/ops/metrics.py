"""Prometheus metrics of one gridbot process, in a registry of its own (never the global one).

The core stays framework-free: it reports what it did through `handlers.ports.Observer` (orders opened,
reminders, escalations), which `Metrics` implements; the runner times `Core.handle` and wraps the
messengers. Served at /metrics by bot/health.py. Labels never carry chat ids or texts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.delivery.replies import Messenger, RetryLater, Unreachable
from handlers.messages import Incoming, Outcome, Reply
from handlers.ports import Happened, Notice

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Handling one update: mostly well under a second; a slow database shows in the upper buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def update_kind(incoming: Incoming) -> str:
    """button, command, photo, location or text: the label of an update, never its content."""
    if incoming.callback_data is not None:
        return "button"
    if incoming.is_command:
        return "command"
    if incoming.photo is not None:
        return "photo"
    if incoming.location is not None and not incoming.text:
        return "location"
    return "text"


class Metrics:
    """The counters and the latency histogram; also the core's observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "gridbot_updates_handled", "Updates handled by the core, by kind.", ["kind"], registry=r
        )
        self.duplicates = Counter(
            "gridbot_updates_duplicate", "Redelivered updates skipped (handled before).", registry=r
        )
        self.latency = Histogram(
            "gridbot_handler_latency_seconds",
            "Time to handle one update (classify, route, commit).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.orders_opened = Counter(
            "gridbot_orders_opened", "Work orders opened, by category.", ["category"], registry=r
        )
        self.reminders = Counter(
            "gridbot_sla_reminders", "SLA reminders (催办) sent before the due time.", registry=r
        )
        self.escalations = Counter(
            "gridbot_sla_escalations",
            "SLA breaches: escalations (督办) after the due time, by the level reached.",
            ["level"],
            registry=r,
        )
        self.deliveries = Counter(
            "gridbot_deliveries",
            "Send attempts by queue (outbox, broadcast) and outcome (sent, failed, unreachable).",
            ["queue", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "gridbot_telegram_rate_limited",
            "429 Too Many Requests answers from Telegram, by queue.",
            ["queue"],
            registry=r,
        )

    def observe(self, notice: Notice) -> None:
        """handlers.ports.Observer: count what a committed transaction did."""
        if notice.what is Happened.ORDER_OPENED:
            self.orders_opened.labels(category=notice.detail or "unknown").inc()
        elif notice.what is Happened.REMINDED:
            self.reminders.inc()
        elif notice.what is Happened.ESCALATED:
            self.escalations.labels(level=notice.detail or "unknown").inc()

    def handled(self, incoming: Incoming, outcome: Outcome, seconds: float) -> None:
        """Count one update the core returned from, and how long it took."""
        self.latency.observe(seconds)
        if outcome.duplicate:
            self.duplicates.inc()
        else:
            self.updates.labels(kind=update_kind(incoming)).inc()

    def metered(self, messenger: Messenger, queue: str) -> Messenger:
        """`messenger`, counting each send's outcome under `queue`."""
        return MeteredMessenger(messenger, self, queue)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class MeteredMessenger:
    """A Messenger that counts outcomes and passes everything (results and errors) through unchanged."""

    def __init__(self, inner: Messenger, metrics: Metrics, queue: str) -> None:
        self._inner = inner
        self._sent = metrics.deliveries.labels(queue=queue, outcome="sent")
        self._failed = metrics.deliveries.labels(queue=queue, outcome="failed")
        self._unreachable = metrics.deliveries.labels(queue=queue, outcome="unreachable")
        self._rate_limited = metrics.rate_limited.labels(queue=queue)

    async def send(self, reply: Reply, reply_to_message_id: int | None) -> int | None:
        try:
            message_id = await self._inner.send(reply, reply_to_message_id)
        except RetryLater:
            self._rate_limited.inc()
            raise
        except Unreachable:
            self._unreachable.inc()
            raise
        except Exception:
            self._failed.inc()
            raise
        self._sent.inc()
        return message_id
