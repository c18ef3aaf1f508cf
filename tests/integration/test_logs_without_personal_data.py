"""At DEBUG, handling a report on a real database logs no message text, name or phone number.

The drivers are the danger: at DEBUG aiosqlite writes every statement with its parameters and
sqlalchemy.engine every parameter set, so a journaled update, a work order's text and the outbox
payloads would all reach the log. configure_logging holds them at WARNING whatever GRIDBOT_LOG_LEVEL says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.ops.logs import configure_logging
from bot.settings import LogFormat
from handlers.workorders import texts as order_texts
from storage.repositories.telegram import JournaledUpdate, SqlUpdateJournal
from storage.uow import SqlUnitOfWorkFactory
from tests.driver import MEMBER_LI, RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeClock
from tests.logging_state import logging_restored

REPORT = "兴泰5号楼2单元楼道灯坏了好几天了，联系电话138-1234-5678"
RELAYED = "下午两点过去看看灯泡"
NAME = "张阿姨"  # the resident's name in the example community, shown on the member's card
DISPLAY_NAME = "晨曦里的向日葵"  # the resident's Telegram display name, in the journaled update
# Any fragment of these in a record is a leak; phone digits in any form, masked or not, count too.
PRIVATE = ("楼道灯坏了", "两点过去看看", NAME, DISPLAY_NAME, "13812345678", "1234-5678", "12345678")


@pytest.fixture
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """GRIDBOT_LOG_LEVEL=debug as `gridbot run` sets it up; the global logging state is restored after."""
    with logging_restored():
        configure_logging("debug", LogFormat.TEXT)
        caplog.set_level(logging.DEBUG)
        yield


def leaks(caplog: pytest.LogCaptureFixture, output: str) -> list[str]:
    found = []
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        found += [f"{record.name}: {p}" for p in PRIVATE if p in line]
    found += [f"stderr: {p}" for p in PRIVATE if p in output]
    return found


@pytest.mark.usefixtures("debug_logging")
async def test_a_report_handled_at_debug_logs_no_text_name_or_phone(
    driver: ChatDriver,
    uow_factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert logging.getLogger("handlers.core").isEnabledFor(logging.DEBUG)  # DEBUG is really on
    journal = SqlUpdateJournal(uow_factory.session_factory, clock)
    raw = {
        "update_id": 7001,
        "message": {
            "message_id": 1,
            "from": {"id": RESIDENT_ZHANG, "first_name": DISPLAY_NAME},
            "chat": {"id": RESIDENT_ZHANG, "type": "private"},
            "text": REPORT,
        },
    }
    await journal.record([JournaledUpdate(7001, raw)], [RESIDENT_ZHANG])
    await driver.text(RESIDENT_ZHANG, REPORT, name=DISPLAY_NAME)
    await journal.mark_handled(7001)
    card = driver.last(MEMBER_LI)
    assert NAME in card.text  # the data did flow through storage and the outbox
    await driver.press_button(MEMBER_LI, order_texts.BTN_ACCEPT)
    await driver.text(MEMBER_LI, RELAYED, reply_to=card.message_id)
    assert RELAYED in driver.last(RESIDENT_ZHANG).text

    assert leaks(caplog, capsys.readouterr().err) == []
