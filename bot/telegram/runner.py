"""Run gridbot on Telegram: one adapter, the journaled update pump, the outbox sender, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from typing import Any

from aiohttp import web

from bot.app import App, load_campaigns
from bot.delivery.broadcasts import BroadcastSender
from bot.delivery.outcomes import OutcomesFirst
from bot.delivery.ratelimit import RateLimiter, limits_from
from bot.delivery.redis_limiter import make_limiter
from bot.delivery.replies import OutboxSender
from bot.ops.health import Readiness, add_health_routes, start_health_server
from bot.schedule.scheduler import Tick, Ticker
from bot.settings import TelegramSettings
from bot.settings import Transport as TransportName
from bot.telegram.base import HandleFn, Transport, report_text
from bot.telegram.menus import install_menus
from bot.telegram.pump import MAX_FAILURES, UpdatePump
from bot.telegram.webhook import start_webhook_server
from handlers import verbs
from handlers.core import Core
from handlers.incidents import tell_staff_update_given_up
from handlers.messages import Incoming, Outcome
from storage.database import is_sqlite
from storage.repositories.telegram import SqlUpdateJournal

log = logging.getLogger(__name__)


def _plans_an_alert(incoming: Incoming) -> bool:
    """A staff member confirmed an /alert draft (the press is re-authorised by the core, not here)."""
    action = verbs.decode(incoming.callback_data) if incoming.callback_data is not None else None
    return action is not None and action.verb is verbs.Verb.ALERT and action.word("choice") == "y"


class ConfigurationError(Exception):
    """Settings that cannot work (no token, console transport)."""


def make_transport(settings: TelegramSettings, handle: HandleFn, limiter: RateLimiter) -> Transport:
    """The adapter named by GRIDBOT_TRANSPORT; the framework is imported only when chosen."""
    if settings.token is None:
        raise ConfigurationError("GRIDBOT_BOT_TOKEN is not set (get a token from @BotFather)")
    token = settings.token.get_secret_value()
    if settings.transport is TransportName.PTB:
        from bot.telegram.ptb_adapter import PtbTransport

        return PtbTransport(token, settings.api_url, handle, limiter)
    if settings.transport is TransportName.AIOGRAM:
        from bot.telegram.aiogram_adapter import AiogramTransport

        return AiogramTransport(token, settings.api_url, handle, limiter)
    raise ConfigurationError("set GRIDBOT_TRANSPORT=ptb or GRIDBOT_TRANSPORT=aiogram to run on Telegram")


async def tell_staff(core: Core, update_id: int, kind: str) -> int:
    """Queue the notice of a given-up update to staff (through the outbox, like every message)."""
    return await core.run_job(lambda ctx: tell_staff_update_given_up(ctx, update_id, kind, MAX_FAILURES))


class TelegramRunner:
    """Wires the adapter to the core, the journal and the outbox; `run` until `stop` is set."""

    def __init__(self, app: App, *, limiter: RateLimiter | None = None) -> None:
        self.app = app
        settings = app.settings.telegram
        delivery = app.settings.delivery
        token = settings.token.get_secret_value() if settings.token else None
        # Shared by all replicas through Redis when GRIDBOT_REDIS_URL is set, else this process's own.
        self.limiter = limiter or make_limiter(limits_from(delivery), delivery.redis_url, token)
        self.transport = make_transport(settings, self._handle, self.limiter)
        # Each queue's sends are counted by outcome (bot/metrics.py); results and errors pass through.
        outbox_messenger = app.metrics.metered(self.transport.messenger, "outbox")
        broadcast_messenger = app.metrics.metered(self.transport.messenger, "broadcast")
        # One name per replica (default: the host name) on the claims of both queues.
        # A message Telegram accepted is marked sent before this process starts any other write.
        self.outcomes = OutcomesFirst(enabled=is_sqlite(app.settings.database.url))
        self.sender = OutboxSender(
            app.outbox, outbox_messenger, self.limiter, delivery=delivery, outcomes=self.outcomes
        )
        app.uow_factory.handoff = self.sender  # committed replies go to it in memory, already claimed
        # Broadcasts share the limiter: together they stay within Telegram's overall rate and 429 pauses.
        self.broadcasts = (
            BroadcastSender(
                app.broadcast_queue,
                broadcast_messenger,
                delivery,
                app.settings.broadcast,
                limiter=self.limiter,
                outcomes=self.outcomes,
            )
            if app.broadcast_queue is not None
            else None
        )
        self.journal = SqlUpdateJournal(app.uow_factory.session_factory, app.clock)
        self.pump = UpdatePump(
            self.journal,
            self.transport.process,
            workers=settings.update_workers,
            # A replica that journaled an update and died: another one handles it after the lease.
            adopt_after=delivery.lease_seconds,
            writing=self.outcomes.writing,
            on_give_up=self._tell_staff_given_up,
            look_ahead=self._look_ahead,
        )
        self.ready = asyncio.Event()  # set once updates are being received
        self.receiving = False  # updates are being fetched (or accepted) and handled: /readyz
        self.readiness = Readiness(app.engine, lambda: self.receiving)
        self.webhook_port: int | None = None
        self.health_port: int | None = None  # polling mode: where /healthz, /readyz, /metrics are
        self.webhook_secret = (
            settings.webhook_secret.get_secret_value()
            if settings.webhook_secret
            else secrets.token_urlsafe(32)
        )

    def _look_ahead(self, payloads: list[dict[str, Any]]) -> None:
        """Updates about to be handled (a page, when a burst came): their residents' reports are classified
        together, now."""
        self.app.core.look_ahead([text for text in map(report_text, payloads) if text is not None])

    async def _handle(self, incoming: Incoming) -> Outcome:
        started = time.perf_counter()
        async with self.outcomes.writing():  # a sender's "sent" write goes before this transaction
            outcome = await self.app.core.handle(incoming)
        # Its replies are committed in the outbox and handed to the sender: send them now, an emergency's
        # before anything in hand (those queued behind a busy chat made the sender claim: `take`).
        self.sender.wake(urgent=any(reply.urgent for reply in outcome.replies), claim=False)
        if self.broadcasts is not None and _plans_an_alert(incoming):
            self.broadcasts.wake(urgent=True)  # an /alert was confirmed: its deliveries go out now
        self.app.metrics.handled(incoming, outcome, time.perf_counter() - started)
        return outcome

    async def _tell_staff_given_up(self, update_id: int, kind: str) -> None:
        await tell_staff(self.app.core, update_id, kind)
        self.sender.wake()

    def _waking(self, tick: Tick) -> Tick:
        """A tick whose messages are sent at once: the sender is woken when the job returns."""

        async def job() -> object:
            async with self.outcomes.writing():
                result = await tick.job()
            # Its commits handed their replies over and said whether urgent ones (an escalation: a possible
            # emergency nobody answered) wait in the queue; this wake claims what they left queued. Marked
            # urgent, every tick landing mid-batch made the sender give the batch back and claim it again.
            self.sender.wake()
            if self.broadcasts is not None:
                self.broadcasts.wake()
            return result

        return Tick(tick.name, job, tick.every_seconds)

    async def run(self, stop: asyncio.Event, *, webhook: bool = False, freeze_heap: bool = False) -> None:
        """Serve until `stop`. `freeze_heap` (the `gridbot run` process): once everything that lives as long
        as the process is built, move it out of the garbage collector's sight (`gc.freeze`)."""
        settings = self.app.settings.telegram
        health_settings = self.app.settings.health
        try:
            await self.transport.start()
        except BaseException:
            # The Bot API is out of reach (or the token wrong): nothing else was started, close what was.
            await self.transport.close()
            await self.limiter.close()
            raise
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None
        server: web.AppRunner | None = None
        health: web.AppRunner | None = None
        ticker: Ticker | None = None
        broadcast_task: asyncio.Task[None] | None = None
        try:
            if not webhook:  # the webhook's own server carries them in webhook mode
                health, self.health_port = await start_health_server(
                    self.app.metrics, self.readiness, health_settings.host, health_settings.port
                )
                log.info("health and metrics on %s:%s", health_settings.host, self.health_port)
            async with self.app.uow_factory() as uow:
                people = await uow.community.people()
            await install_menus(self.transport, people)
            # Rows this replica (same name) or a dead one had claimed: send them (at most the one in
            # flight may repeat). Live replicas' claims are left alone.
            released = await self.sender.recover()
            if released:
                log.info("outbox: %d claimed message(s) from a previous run put back", released)
            await self.journal.prune()
            # jieba's dictionary takes about a second of CPU to build; built lazily, it would stall the
            # event loop (every update and send) on the first message that needs word segmentation.
            await asyncio.to_thread(self.app.core.warm_up)
            sender_task = asyncio.create_task(self.sender.run(sender_stop), name="gridbot-outbox-sender")
            if self.broadcasts is not None:
                await load_campaigns(self.app)
                broadcast_task = asyncio.create_task(
                    self.broadcasts.run(sender_stop), name="gridbot-broadcast-sender"
                )
            if freeze_heap:
                # The rules, jieba's dictionary, pypinyin's table and the model stay for the process's
                # life; each full collection walked them all: 67-276 ms with the event loop held (measured
                # under load at 100,000 orders: bench-bot's paced p99 tail). Frozen, they are not walked.
                gc.freeze()
            # Timers (SLA, check-ins, broadcasts) live in the database; catch up once, then tick.
            ticker = Ticker([self._waking(t) for t in self.app.ticks], self.app.settings.timezone)
            await ticker.run_once()
            ticker.start()
            await self.pump.start()
            if webhook:
                server, self.webhook_port = await start_webhook_server(
                    self.pump,
                    self.webhook_secret,
                    settings.webhook_host,
                    settings.webhook_port,
                    settings.webhook_path,
                    extra=lambda web_app: add_health_routes(web_app, self.app.metrics, self.readiness),
                )
                if settings.webhook_url:
                    await self.transport.set_webhook(settings.webhook_url, self.webhook_secret)
                log.info("webhook listening on %s:%s", settings.webhook_host, self.webhook_port)
                self.receiving = True
                self.ready.set()
                await stop.wait()
                self.receiving = False
                await server.cleanup()  # stop accepting; what was journaled is drained below
                server = None
            else:
                await self.transport.delete_webhook()  # getUpdates is refused while a webhook is set
                log.info("polling for updates (%s)", settings.transport.value)
                self.receiving = True
                self.ready.set()
                await self.pump.poll(self.transport.fetch, stop, settings.polling_timeout)
                self.receiving = False
            log.info("stopping: finishing in-flight updates and messages")
            await self.pump.drain(settings.shutdown_timeout)
            sender_stop.set()
            self.sender.wake()
            with contextlib.suppress(TimeoutError):
                if broadcast_task is not None:  # it gives back what it claimed but did not send
                    await asyncio.wait_for(broadcast_task, settings.shutdown_timeout)
                await asyncio.wait_for(sender_task, settings.shutdown_timeout)
                await asyncio.wait_for(self.sender.flush(), settings.shutdown_timeout)
        finally:
            if ticker is not None:
                ticker.shutdown()
            self.receiving = False
            if server is not None:
                await server.cleanup()
            if health is not None:
                await health.cleanup()
            for task in (sender_task, broadcast_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await self.pump.drain(0)
            await self.transport.close()
            await self.limiter.close()
