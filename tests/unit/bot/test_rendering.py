"""Shared rendering rules of the Telegram adapters, with a fake messenger (no framework)."""

from __future__ import annotations

from bot.delivery.replies import RetryLater
from bot.telegram.rendering import BaseMessenger, Keyboard, MessageNotModified, split_text
from handlers.messages import Button, Reply


def test_split_prefers_line_breaks_and_keeps_everything() -> None:
    text = "\n".join(f"第{i}行：楼道灯坏了" for i in range(1000))
    parts = split_text(text, 4096)
    assert len(parts) > 1
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("短") == ["短"]
    unbroken = "灯" * 9000
    assert "".join(split_text(unbroken)) == unbroken


class FakeMessenger(BaseMessenger):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, str | None, Keyboard, int | None]] = []
        self.fail: list[Exception] = []

    def _maybe_fail(self) -> None:
        if self.fail:
            raise self.fail.pop(0)

    async def send_text(self, chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> int:
        self._maybe_fail()
        self.calls.append(("text", chat_id, text, buttons, reply_to))
        return len(self.calls)

    async def send_photo(
        self, chat_id: int, photo: str, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        self._maybe_fail()
        self.calls.append(("photo", chat_id, caption, buttons, reply_to))
        return len(self.calls)

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: Keyboard) -> None:
        self._maybe_fail()
        self.calls.append(("edit", chat_id, text, buttons, message_id))


BUTTONS = ((Button("接单", "ac:1"),),)


async def test_long_text_threads_the_first_part_and_buttons_the_last() -> None:
    messenger = FakeMessenger()
    message_id = await messenger.send(Reply(1, "好" * 5000, BUTTONS), reply_to_message_id=7)
    (_, _, t1, b1, r1), (_, _, t2, b2, r2) = messenger.calls
    assert (b1, r1) == ((), 7)
    assert (b2, r2) == (BUTTONS, None)
    assert (t1 or "") + (t2 or "") == "好" * 5000
    assert message_id == 2  # the part with the buttons is the one linked to the order


async def test_photo_with_a_long_text_goes_captionless_then_text() -> None:
    messenger = FakeMessenger()
    await messenger.send(Reply(1, "长" * 2000, BUTTONS, photo="file-1"), None)
    assert [c[0] for c in messenger.calls] == ["photo", "text"]
    assert messenger.calls[0][2] is None
    assert messenger.calls[1][3] == BUTTONS


async def test_a_later_part_rate_limited_is_retried_without_resending_the_first() -> None:
    messenger = FakeMessenger()
    messenger.fail = []
    first = messenger.send_text

    calls = 0

    async def flaky(chat_id: int, text: str, buttons: Keyboard, reply_to: int | None) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RetryLater(0.01)
        return await first(chat_id, text, buttons, reply_to)

    messenger.send_text = flaky  # type: ignore[method-assign]
    await messenger.send(Reply(1, "好" * 5000), None)
    assert len(messenger.calls) == 2
    assert calls == 3


async def test_an_unchanged_edit_is_fine() -> None:
    messenger = FakeMessenger()
    messenger.fail = [MessageNotModified("message is not modified")]
    assert await messenger.send(Reply(1, "卡片", edit_message_id=5), None) is None
