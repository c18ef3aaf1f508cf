"""Start the real gridbot (either adapter) in-process against the emulator, on a fresh SQLite database."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import App, build_app
from bot.imports.community_file import load_community
from bot.settings import Settings
from bot.telegram.runner import TelegramRunner
from handlers.community.settings import CommunitySpec
from nlp.types import Classifier
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import OrderEventRow, OutboxRow, UnreachableChatRow, WorkOrderRow
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import EXAMPLE_COMMUNITY
from tools.emulator.server import Emulator

GROUP_FIRST_GRID = -1001234500001  # 第一网格's group chat in these tests
# Everyone in the example community with a role: their private chats are open (they did /start once).
PEOPLE = (1001, 1002, 1003, 2001, 2002, 2003, 2101, 2102, 2201, 2202, 2301, 2302, 3001, 3002)
FAST_SENDING: dict[str, Any] = {
    # Generous pace so conformance tests do not wait on the limiter; test_limits uses the real one.
    "send_per_chat_per_second": 50.0,
    "send_per_chat_burst": 50,
    "send_overall_per_second": 500.0,
}


def example_spec() -> CommunitySpec:
    """The example community with 第一网格 given a group chat."""
    spec = load_community(EXAMPLE_COMMUNITY)
    grids = tuple(
        dataclasses.replace(g, group_chat_id=GROUP_FIRST_GRID) if g.name == "第一网格" else g
        for g in spec.grids
    )
    return dataclasses.replace(spec, grids=grids)


async def prepare_database(url: str, spec: CommunitySpec | None = None) -> None:
    """Migrate and import a community (what `gridbot db upgrade` + `org import` do); default: the example."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), _NoClock())
        async with factory() as uow:
            await uow.community.apply(spec or example_spec())
            await uow.commit()
    finally:
        await engine.dispose()


class _NoClock:
    def now(self) -> Any:
        from datetime import UTC, datetime

        return datetime.now(UTC)


def open_chats(emu: Emulator) -> None:
    """Chats the bot may write to: every person's private chat and 第一网格's group."""
    for chat_id in PEOPLE:
        emu.add_chat(chat_id)
    emu.add_chat(GROUP_FIRST_GRID, chat_type="supergroup", title="第一网格工作群")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]  # pydantic-settings init kwarg


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
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    """The bot as `gridbot run` runs it, in this event loop; stopped gracefully (as on SIGTERM) at exit."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gridbot.db'}"
    await prepare_database(url)
    open_chats(emu)
    app = await build_app(bot_settings(emu, url, adapter, **overrides), classifier=classifier)
    runner = TelegramRunner(app)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop, webhook=webhook))
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
