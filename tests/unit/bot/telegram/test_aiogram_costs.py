"""Two costs the aiogram adapter avoids (issue 16): a worker thread per message for its filter, and pydantic
rebuilding the class of every Bot API answer after the garbage collector freed it."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from datetime import UTC, datetime

import pytest
from aiogram import methods
from aiogram.methods.base import Response
from aiogram.types import Chat, Location, Message, PhotoSize, Sticker, Update

from bot.telegram.aiogram_adapter import AiogramTransport, SendText, SentMessageId, has_content


async def _ignore(_incoming: object) -> None:
    return None


def _message(**content: object) -> Message:
    return Message(
        message_id=1, date=datetime(2026, 12, 2, tzinfo=UTC), chat=Chat(id=7, type="private"), **content
    )


def test_message_filters_run_on_the_loop_not_on_a_thread() -> None:
    transport = AiogramTransport("123:abc", "http://127.0.0.1:9", _ignore)
    handlers = transport.dispatcher.sub_routers[0].message.handlers
    filters = [f for handler in handlers for f in handler.filters or ()]
    assert filters, "the message handler has its content filter"
    # aiogram awaits an awaitable filter and sends any other (a magic filter included) to asyncio.to_thread.
    assert all(f.awaitable for f in filters)
    asyncio.run(transport.close())


def test_the_filter_passes_what_the_core_reads() -> None:
    photo = PhotoSize(file_id="f", file_unique_id="u", width=1, height=1)
    sticker = Sticker(
        file_id="s", file_unique_id="v", type="regular", width=1, height=1, is_animated=False, is_video=False
    )
    assert asyncio.run(has_content(_message(text="楼道灯坏了")))
    assert asyncio.run(has_content(_message(photo=[photo])))
    assert asyncio.run(has_content(_message(location=Location(latitude=31.0, longitude=121.0))))
    assert not asyncio.run(has_content(_message(sticker=sticker)))


def test_answer_types_outlive_the_garbage_collector() -> None:
    for method in (
        methods.SendMessage,
        methods.GetUpdates,
        methods.EditMessageText,
        methods.AnswerCallbackQuery,
    ):
        answer_type = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
        gc.collect()
        assert answer_type() is not None, f"Response[{method.__name__}] would be built again"


def test_fetched_updates_are_journaled_as_sent_and_handled_as_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """getUpdates' answer goes to the journal as Telegram sent it (no dump), and the update aiogram parsed
    is handled as it is (no second parse); one replayed from the journal is parsed."""
    sent = [
        {
            "update_id": 41,
            "message": {
                "message_id": 5,
                "date": 1764750000,
                "chat": {"id": 7, "type": "private"},
                "from": {"id": 7, "is_bot": False, "first_name": "张"},
                "text": "楼道灯坏了",
                "some_future_field": {"kept": True},
            },
        }
    ]
    handled: list[object] = []

    async def on_message(incoming: object) -> None:
        handled.append(incoming)

    async def scenario() -> None:
        transport = AiogramTransport("123:abc", "http://127.0.0.1:9", on_message)

        async def make_request(bot: object, method: object, **_: object) -> object:
            return transport.session.check_response(  # what aiohttp would hand it
                transport.bot,
                method,
                200,
                json.dumps({"ok": True, "result": sent}),  # type: ignore[arg-type]
            ).result

        monkeypatch.setattr(transport.session, "make_request", make_request)
        dumps: list[object] = []
        dump = Update.model_dump
        monkeypatch.setattr(Update, "model_dump", lambda *a, **k: dumps.append(1) or dump(*a, **k))
        journaled = await transport.fetch(None, 0)
        assert journaled == sent  # as sent, unknown fields and "from" included …
        assert dumps == []  # … not dumped back from aiogram's objects
        parses: list[object] = []
        real = Update.model_validate
        monkeypatch.setattr(Update, "model_validate", lambda *a, **k: parses.append(1) or real(*a, **k))
        await transport.process(journaled[0])
        assert parses == []  # handled as parsed by getUpdates
        await transport.process(journaled[0])  # a replay: parsed from the journal
        assert parses == [1]
        await transport.close()

    asyncio.run(scenario())
    assert len(handled) == 2


def test_a_sent_message_is_read_for_its_id_alone() -> None:
    """sendMessage's answer is read as `SentMessageId` (a fifth of aiogram's CPU a message), not a whole
    Message: the id the outbox links to its order comes through, the rest is left as Telegram sent it."""

    async def scenario() -> int:
        transport = AiogramTransport("123:abc", "http://127.0.0.1:9", _ignore)
        sent = {
            "message_id": 812,
            "date": 1764750000,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "gridbot"},
            "text": "您的工单已受理",
            "reply_markup": {"inline_keyboard": [[{"text": "同意", "callback_data": "r:y"}]]},
        }
        asked: list[object] = []

        async def make_request(bot: object, method: object, **_: object) -> object:
            asked.append(method)
            response = transport.session.check_response(
                transport.bot,
                method,  # type: ignore[arg-type]
                200,
                json.dumps({"ok": True, "result": sent}),
            )
            assert type(response.result) is SentMessageId  # no Message, Chat, User, keyboard models
            return response.result

        transport.session.make_request = make_request  # type: ignore[method-assign]
        message_id = await transport.messenger.send_text(7, "您的工单已受理", [], None)
        assert [type(m) for m in asked] == [SendText]
        await transport.close()
        return message_id

    assert asyncio.run(scenario()) == 812
