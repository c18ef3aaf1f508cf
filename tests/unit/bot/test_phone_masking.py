"""One masking function for phone numbers, in every way residents write them, for logs and group cards alike.

handlers/community/privacy.py `mask_phones` is that function; the log redaction (bot/telegram/redact.py)
and the grid group's order card both call it. Order numbers, dates, times and room numbers stay readable.
"""

from __future__ import annotations

import io
import logging
from datetime import date, time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.telegram.redact import RedactingFilter, scrub
from handlers.community.privacy import mask_phones
from tests.driver import MEMBER_LI, RESIDENT_ZHANG, ChatDriver
from tests.fakes import FakeClock, FakeCommunity, FakeUnitOfWorkFactory
from tools.example_community import GROUP_FIRST_GRID, example_spec

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
FULL_WIDTH_BACK = str.maketrans("０１２３４５６７８９", "0123456789")
PREFIXES = ["", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "(+86)", "（+86）", "＋86 "]
SEPARATORS = ["", " ", "-", ".", "\u3000", "－", "．"]
# Context around a number: Chinese, letters and punctuation, never a digit (that would make it longer).
AROUND = st.text(alphabet="电话联系我兴泰小区楼道灯坏了 ，。：:abcXYZ", max_size=8)


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str, str]:
    """(written form, first three digits, last four digits) of a mainland mobile number."""
    head = "1" + draw(st.sampled_from("3456789")) + draw(st.sampled_from("0123456789"))
    middle = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=4, max_size=4)))
    tail = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=4, max_size=4)))
    sep = draw(st.sampled_from(SEPARATORS))
    written = draw(st.sampled_from(PREFIXES)) + head + sep + middle + sep + tail
    if draw(st.booleans()):
        written = written.translate(FULL_WIDTH)
    return written, head, tail


@given(mobiles(), AROUND, AROUND)
@example(("+8613812345678", "138", "5678"), "", "")
@example(("138-1234-5678", "138", "5678"), "电话", "。")
@example(("138 1234 5678", "138", "5678"), "", "")
@example(("１３８１２３４５６７８", "138", "5678"), "", "")
@example(("0086 13812345678", "138", "5678"), "", "")
@settings(max_examples=400, deadline=None)
def test_every_written_form_of_a_mobile_is_masked(
    number: tuple[str, str, str], left: str, right: str
) -> None:
    written, head, tail = number
    assert mask_phones(left + written + right) == f"{left}{head}****{tail}{right}"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("座机 0513-85551234", "座机 0513-****1234"),
        ("(0513) 8555 1234", "0513-****1234"),
        ("010-12345678", "010-****5678"),
        ("+86 513 85551234", "0513-****1234"),
        ("０５１３－８５５５１２３４", "0513-****1234"),
    ],
)
def test_landlines_keep_the_area_code(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


@st.composite
def not_phones(draw: st.DrawFn) -> str:
    """What cards and logs carry that looks numeric but is no phone: order numbers, dates, times, rooms."""
    day = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2039, 12, 31)))
    moment = draw(st.times()).replace(second=0, microsecond=0) or time(0, 0)
    room = draw(st.integers(min_value=1, max_value=3999))
    return draw(
        st.sampled_from(
            [
                f"GD{day:%Y%m%d}-{draw(st.integers(min_value=1, max_value=9999)):04d}",
                f"{day:%Y-%m-%d}",
                f"{day:%Y.%m.%d}",
                f"{day:%Y%m%d}",
                f"{day:%Y年%m月%d日} {moment:%H:%M}",
                f"{day:%Y-%m-%d} {moment:%H:%M}-{moment:%H:%M}",
                f"{room}",
                f"{room}室",
                f"{draw(st.integers(min_value=1, max_value=40))}号楼{draw(st.integers(1, 6))}单元{room}",
                f"update {draw(st.integers(min_value=1, max_value=10**9))}",
                "119",
            ]
        )
    )


@given(st.lists(not_phones(), min_size=1, max_size=5))
@settings(max_examples=400, deadline=None)
def test_order_numbers_dates_and_rooms_are_left_alone(parts: list[str]) -> None:
    text = "，".join(parts)
    assert mask_phones(text) == text


@pytest.mark.parametrize(
    "written",
    ["+8613812345678", "138-1234-5678", "138 1234 5678", "１３８１２３４５６７８", "0086 138.1234.5678"],
)
def test_the_log_redaction_masks_the_same_way(written: str) -> None:
    stream = io.StringIO()
    log = logging.getLogger("gridbot.test.masking")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("contact %s about GD20261130-0012, room 501", written)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert stream.getvalue() == "contact 138****5678 about GD20261130-0012, room 501\n"
    assert scrub(written) == mask_phones(written) == "138****5678"


@pytest.fixture
async def uow_factory(clock: FakeClock) -> FakeUnitOfWorkFactory:
    """The example community with 第一网格's group chat (the shared unit fixture has none)."""
    factory = FakeUnitOfWorkFactory()
    await FakeCommunity(factory.store).apply(example_spec(), clock.now())
    return factory


@pytest.mark.parametrize("written", ["+86 139-1234-5678", "１３９１２３４５６７８", "139.1234.5678"])
async def test_the_group_card_masks_what_the_member_sees_in_full(driver: ChatDriver, written: str) -> None:
    await driver.text(RESIDENT_ZHANG, f"5号楼2单元楼道灯坏了，电话{written}")
    group_card = driver.last(GROUP_FIRST_GRID).text
    assert "139****5678" in group_card
    assert written not in group_card
    assert "1234" not in group_card.translate(FULL_WIDTH_BACK)  # the middle digits in no width
    assert written in driver.last(MEMBER_LI).text  # the assigned member still can call back
