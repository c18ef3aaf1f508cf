"""Run gridbot on Telegram: one adapter, the journaled update pump, the outbox sender, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from datetime import timedelta

from aiohttp import web

from bot.app import App, load_campaigns
from bot.delivery.broadcasts import BroadcastSender
from bot.delivery.ratelimit import Limits, RateLimiter
from bot.delivery.redis_limiter import make_limiter
from bot.delivery.replies import OutboxSender
from bot.ops.health import Readiness, add_health_routes, start_health_server
from bot.schedule.scheduler import Tick, Ticker
from bot.settings import Settings
from bot.settings import Transport as TransportName
from bot.telegram.base import HandleFn, Transport
from bot.telegram.menus import install_menus
from bot.telegram.pump import UpdatePump
from bot.telegram.webhook import start_webhook_server
from handlers.messages import Incoming, Outcome
from storage.repositories.telegram import SqlUpdateJournal

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """Settings that cannot work (no token, console transport)."""


def limits_from(settings: Settings) -> Limits:
    return Limits(
        per_chat_per_second=settings.send_per_chat_per_second,
        per_chat_burst=settings.send_per_chat_burst,
        per_group_per_minute=settings.send_per_group_per_minute,
        overall_per_second=settings.send_overall_per_second,
    )


def make_transport(settings: Settings, handle: HandleFn, limiter: RateLimiter) -> Transport:
    """The adapter named by GRIDBOT_TRANSPORT; the framework is imported only when chosen."""
    if settings.bot_token is None:
        raise ConfigurationError("GRIDBOT_BOT_TOKEN is not set (get a token from @BotFather)")
    token = settings.bot_token.get_secret_value()
    if settings.transport is TransportName.PTB:
        from bot.telegram.ptb_adapter import PtbTransport

        return PtbTransport(token, settings.telegram_api_url, handle, limiter)
    if settings.transport is TransportName.AIOGRAM:
        from bot.telegram.aiogram_adapter import AiogramTransport

        return AiogramTransport(token, settings.telegram_api_url, handle, limiter)
    raise ConfigurationError("set GRIDBOT_TRANSPORT=ptb or GRIDBOT_TRANSPORT=aiogram to run on Telegram")


class TelegramRunner:
    """Wires the adapter to the core, the journal and the outbox; `run` until `stop` is set."""

    def __init__(self, app: App, *, limiter: RateLimiter | None = None) -> None:
        self.app = app
        settings = app.settings
        token = settings.bot_token.get_secret_value() if settings.bot_token else None
        # Shared by all replicas through Redis when GRIDBOT_REDIS_URL is set, else this process's own.
        self.limiter = limiter or make_limiter(limits_from(settings), settings.redis_url, token)
        self.transport = make_transport(settings, self._handle, self.limiter)
        # Each queue's sends are counted by outcome (bot/metrics.py); results and errors pass through.
        outbox_messenger = app.metrics.metered(self.transport.messenger, "outbox")
        broadcast_messenger = app.metrics.metered(self.transport.messenger, "broadcast")
        self.sender = OutboxSender(
            app.outbox,
            outbox_messenger,
            self.limiter,
            name=app.broadcast_settings.sender_name,  # one name per replica (default: the host name)
            lease=timedelta(seconds=app.broadcast_settings.lease_seconds),
        )
        # Broadcasts share the limiter: together they stay within Telegram's overall rate and 429 pauses.
        self.broadcasts = (
            BroadcastSender(
                app.broadcast_queue, broadcast_messenger, app.broadcast_settings, limiter=self.limiter
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
            adopt_after=app.broadcast_settings.lease_seconds,
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

    async def _handle(self, incoming: Incoming) -> Outcome:
        started = time.perf_counter()
        outcome = await self.app.core.handle(incoming)
        self.app.metrics.handled(incoming, outcome, time.perf_counter() - started)
        self.sender.wake()  # its replies are committed in the outbox: send them now
        return outcome

    def _waking(self, tick: Tick) -> Tick:
        """A tick whose messages are sent at once: the sender is woken when the job returns."""

        async def job() -> object:
            result = await tick.job()
            self.sender.wake()
            return result

        return Tick(tick.name, job, tick.every_seconds)

    async def run(self, stop: asyncio.Event, *, webhook: bool = False) -> None:
        settings = self.app.settings
        await self.transport.start()
        sender_stop = asyncio.Event()
        sender_task: asyncio.Task[None] | None = None
        server: web.AppRunner | None = None
        health: web.AppRunner | None = None
        ticker: Ticker | None = None
        broadcast_task: asyncio.Task[None] | None = None
        try:
            if not webhook:  # the webhook's own server carries them in webhook mode
                health, self.health_port = await start_health_server(
                    self.app.metrics, self.readiness, settings.health_host, settings.health_port
                )
                log.info("health and metrics on %s:%s", settings.health_host, self.health_port)
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
            # Timers (SLA, check-ins, broadcasts) live in the database; catch up once, then tick.
            ticker = Ticker([self._waking(t) for t in self.app.ticks], settings.timezone)
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
