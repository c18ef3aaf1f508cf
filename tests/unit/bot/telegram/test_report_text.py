"""Which updates the classifier is shown ahead (bot/telegram/base.py `report_text`): a private message's
words as the core would classify them, nothing else."""

from __future__ import annotations

from typing import Any

from bot.telegram.base import report_text


def _message(**fields: Any) -> dict[str, Any]:
    message = {"message_id": 1, "chat": {"id": 7, "type": "private"}, "from": {"id": 7}, **fields}
    return {"update_id": 1, "message": message}


def test_a_private_text_or_caption_is_read_stripped_as_the_core_reads_it() -> None:
    assert report_text(_message(text="  楼道灯坏了\n")) == "楼道灯坏了"
    assert report_text(_message(caption=" 井盖松了 ", photo=[{"file_id": "f"}])) == "井盖松了"


def test_what_the_core_does_not_classify_is_left_out() -> None:
    assert report_text(_message(text="/start")) is None  # a command
    assert report_text(_message(text="   ")) is None
    assert report_text(_message(photo=[{"file_id": "f"}])) is None  # no words
    assert report_text(_message(text="好的", reply_to_message={"message_id": 3})) is None  # a relayed reply
    group = _message(text="楼道灯坏了")
    group["message"]["chat"]["type"] = "group"
    assert report_text(group) is None
    assert report_text({"update_id": 2, "callback_query": {"id": "q", "data": "r:y"}}) is None
