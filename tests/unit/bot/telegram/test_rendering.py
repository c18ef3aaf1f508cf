"""Shared rendering rules of the Telegram adapters, with a fake messenger (no framework)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli.console import ConsoleMessenger
from bot.delivery.replies import RetryLater
from bot.telegram.rendering import BaseMessenger, Keyboard, MessageNotModified, split_text
from handlers.messages import MAX_ATTACHMENT_BYTES, Attachment, AttachmentKind, Button, Reply


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

    async def send_file(
        self, chat_id: int, file: Attachment, caption: str | None, buttons: Keyboard, reply_to: int | None
    ) -> int:
        self._maybe_fail()
        self.calls.append((f"file:{file.kind.value}:{file.filename}", chat_id, caption, buttons, reply_to))
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


async def test_a_file_carries_a_short_text_as_its_caption_and_a_long_one_after_it() -> None:
    messenger = FakeMessenger()
    book = Attachment(b"PK\x03\x04 workbook", "月报_2026-10.xlsx")
    await messenger.send(Reply(1, "2026年10月月报", BUTTONS, attachment=book), reply_to_message_id=7)
    assert messenger.calls == [("file:document:月报_2026-10.xlsx", 1, "2026年10月月报", BUTTONS, 7)]
    messenger = FakeMessenger()
    chart = Attachment(b"\x89PNG chart", "chart.png", AttachmentKind.PHOTO)
    await messenger.send(Reply(1, "统" * 1500, attachment=chart), reply_to_message_id=None)
    kinds = [(call[0], call[2] is None) for call in messenger.calls]
    assert kinds == [("file:photo:chart.png", True), ("text", False)]


def test_an_attachment_is_capped_and_never_logs_its_bytes() -> None:
    with pytest.raises(ValueError, match="bytes"):
        Attachment(b"x" * (MAX_ATTACHMENT_BYTES + 1), "big.xlsx")
    with pytest.raises(ValueError, match="bytes"):
        Attachment(b"", "empty.xlsx")
    assert "secret" not in repr(Attachment(b"secret", "a.csv"))


async def test_the_console_saves_a_file_and_prints_where(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleMessenger(out, files=tmp_path)
    book = Attachment(b"PK\x03\x04 workbook", "月报_2026-10.xlsx")
    message_id = await console.send(Reply(1, "📎 2026年10月工作报告", attachment=book), None)
    saved = tmp_path / f"{message_id}-月报_2026-10.xlsx"
    assert saved.read_bytes() == book.data
    assert str(saved) in out.getvalue()
