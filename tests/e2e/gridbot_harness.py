"""Start the real gridbot (either adapter) in-process against the emulator, on a fresh SQLite database."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import App, build_app
from bot.settings import Settings
from bot.telegram.runner import TelegramRunner
from nlp.types import Classifier
from storage.models import OrderEventRow, OutboxRow, UnreachableChatRow, WorkOrderRow
from tools.emulator.server import Emulator
from tools.example_community import GROUP_FIRST_GRID, PEOPLE, example_spec, prepare_database

FAST_SENDING: dict[str, Any] = {
    # Generous pace so conformance tests do not wait on the limiter; test_limits uses the real one.
    "send_per_chat_per_second": 50.0,
    "send_per_chat_burst": 50,
    "send_overall_per_second": 500.0,
}


def open_chats(emu: Emulator) -> None:
    """Chats the bot may write to: every person's private chat and 第一网格's group."""
    for chat_id in PEOPLE:
        emu.add_chat(chat_id)
    emu.add_chat(GROUP_FIRST_GRID, chat_type="supergroup", title="第一网格工作群")


def bot_settings(emu: Emulator, url: str, adapter: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "transport": adapter,
        "bot_token": emu.token,
        "telegram_api_url": emu.url,
        "polling_timeout": 5,
        "shutdown_timeout": 5.0,
        "health_port": 0,  # polling mode's health server on a free port (tests may run side by side)
        **FAST_SENDING,
        **overrides,
    }
    # The keys are the variables' names without "GRIDBOT_" (send_per_chat_burst, ...).
    return Settings.from_variables({f"GRIDBOT_{key.upper()}": value for key, value in values.items()})


@dataclasses.dataclass
class RunningBot:
    emu: Emulator
    app: App
    runner: TelegramRunner
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def orders(self) -> list[WorkOrderRow]:
        async with self.app.uow_factory.session_factory() as session:
            return list(await session.scalars(select(WorkOrderRow).order_by(WorkOrderRow.id)))

    async def events(self, order_id: int) -> list[str]:
        async with self.app.uow_factory.session_factory() as session:
            rows = await session.scalars(
                select(OrderEventRow.kind)
                .where(OrderEventRow.order_id == order_id)
                .order_by(OrderEventRow.id)
            )
            return list(rows)

    async def outbox(self) -> list[OutboxRow]:
        async with self.app.uow_factory.session_factory() as session:
            return list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))

    async def unreachable(self) -> set[int]:
        async with self.app.uow_factory.session_factory() as session:
            return set(await session.scalars(select(UnreachableChatRow.chat_id)))

    async def idle(self, within: float = 5.0) -> None:
        """Wait until every update is handled and the outbox is empty (polling the DB, bounded)."""
        async with asyncio.timeout(within):
            while True:
                if self.task.done():
                    self.task.result()
                journal = await self.runner.journal.unhandled()
                if not journal and await self.app.outbox.pending_count() == 0:
                    return
                await asyncio.sleep(0.02)


@asynccontextmanager
async def running_bot(
    emu: Emulator,
    tmp_path: Path,
    adapter: str,
    classifier: Classifier,
    *,
    webhook: bool = False,
    freeze_heap: bool = False,
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    """The bot as `gridbot run` runs it, in this event loop; stopped gracefully (as on SIGTERM) at exit."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
    await prepare_database(url)
    open_chats(emu)
    app = await build_app(bot_settings(emu, url, adapter, **overrides), classifier=classifier)
    runner = TelegramRunner(app)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop, webhook=webhook, freeze_heap=freeze_heap))
    try:
        ready = asyncio.ensure_future(runner.ready.wait())
        await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert runner.ready.is_set(), "the bot did not start"
        if not webhook:
            await emu.wait_until_polling(timeout=5)
        yield RunningBot(emu, app, runner, stop, task)
    finally:
        stop.set()
        try:
            async with asyncio.timeout(15):
                await task
        finally:
            await app.close()


_CLASSIFIER: list[Classifier] = []


def shared_classifier() -> Classifier:
    """Loading jieba's dictionary takes a while: one classifier for the whole test session."""
    if not _CLASSIFIER:
        from nlp import load_classifier

        _CLASSIFIER.append(load_classifier(None, example_spec().compound_aliases()))
    return _CLASSIFIER[0]
