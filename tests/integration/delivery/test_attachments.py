"""A reply's file survives the outbox (SQLite and PostgreSQL): queued in the use case's transaction, claimed
by a sender (after a crash, by another one) with the same bytes, name and kind."""

from __future__ import annotations

from handlers.messages import MAX_ATTACHMENT_BYTES, Attachment, AttachmentKind, Reply
from storage.database import make_session_factory
from storage.queues.outbox import SqlOutbox, SqlOutboxQueue
from tests.fakes import FakeClock
from tests.integration.conftest import Database


async def test_attachments_come_back_from_the_outbox_byte_for_byte(database: Database) -> None:
    clock = FakeClock()
    every_byte = bytes(range(256)) * 40
    book = Attachment(every_byte, "月报_2026-10.xlsx")
    chart = Attachment(b"\x89PNG\r\n\x1a\n" + every_byte, "统计.png", AttachmentKind.PHOTO)
    biggest = Attachment(b"\x00" * MAX_ATTACHMENT_BYTES, "big.csv")
    async with make_session_factory(database.engine)() as session, session.begin():
        outbox = SqlOutbox(session, clock)
        for reply in (
            Reply(7, "2026年10月月报", attachment=book),
            Reply(7, "近 30 天", attachment=chart),
            Reply(7, "", attachment=biggest),
            Reply(7, "只有文字"),
        ):
            await outbox.put(reply)
    queue = SqlOutboxQueue(make_session_factory(database.engine), clock)
    claimed = [item.reply for item in await queue.claim(limit=10, owner="a")]
    assert [r.text for r in claimed] == ["2026年10月月报", "近 30 天", "", "只有文字"]
    assert [r.attachment for r in claimed] == [book, chart, biggest, None]
    assert claimed[1].attachment is not None
    assert claimed[1].attachment.kind is AttachmentKind.PHOTO
