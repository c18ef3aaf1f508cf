"""代录: a phoned-in report is classified and routed like a chat report, and marked as recorded by whom."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import DeskRecordedReportRow, OutboxRow, ResidentRow, UnreachableChatRow, WorkOrderRow
from tests.web.conftest import Desk

FORM = {
    "channel": "phone",
    "name": "王大爷",
    "phone": "139-0000-1234",
    "address": "兴泰小区5号楼3单元",
    "text": "楼道里的灯坏了一个星期了，晚上看不见路",
}


async def _order(desk: Desk, text: str) -> WorkOrderRow:
    async with desk.uow_factory() as uow:
        row = await uow.session.scalar(select(WorkOrderRow).where(WorkOrderRow.text == text))
    assert row is not None
    return row


async def test_a_phoned_in_report_is_routed_and_marked(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    async with desk.uow_factory() as uow:
        outbox_before = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
    page = await desk.client.post("/record", data={**FORM, "csrf": csrf})
    assert page.status_code == 200, page.text
    assert "已登记" in page.text
    order = await _order(desk, FORM["text"])
    assert order.category == "repair"
    assert order.building_number == "5"
    assert order.unit == "3"
    async with desk.uow_factory() as uow:
        resident = await uow.session.get(ResidentRow, order.resident_id)
        recorded = await uow.session.get(DeskRecordedReportRow, order.id)
        queued = list(await uow.session.scalars(select(OutboxRow).where(OutboxRow.id > (outbox_before or 0))))
        blocked = await uow.session.get(UnreachableChatRow, resident.chat_id if resident else 0)
    assert resident is not None
    assert (resident.name, resident.phone) == ("王大爷", "13900001234")
    assert resident.chat_id < -(2**53)  # no Telegram chat: nothing is ever sent there
    assert blocked is not None
    assert recorded is not None
    assert (recorded.channel, recorded.address) == ("phone", "兴泰小区5号楼3单元")
    # The grid member of 兴泰小区 got the card in chat; nothing was queued for the caller.
    assert any(row.chat_id in (2002, 2003) and "楼道里的灯" in row.payload["text"] for row in queued)
    assert all(row.chat_id > -(2**53) for row in queued)
    shown = await desk.client.get(f"/orders/{order.id}")
    assert "代录" in shown.text
    assert "陈主任" in shown.text
    assert "不使用网格助手" in shown.text


async def test_a_caller_who_uses_the_bot_is_linked_and_hears_in_chat(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    form = {**FORM, "name": "王阿姨", "phone": "13800001111", "text": "3号楼门口的井盖松了，走上去晃"}
    assert (await desk.client.post("/record", data={**form, "csrf": csrf})).status_code == 200
    order = await _order(desk, form["text"])
    async with desk.uow_factory() as uow:
        resident = await uow.session.get(ResidentRow, order.resident_id)
    assert resident is not None
    assert resident.chat_id == 9101  # 王秀英, who reported before in chat
    assert any(form["text"][:4] in t or order.number in t for t in await desk.outbox_to(9101))


async def test_an_incomplete_form_is_shown_again_with_what_is_missing(desk: Desk) -> None:
    csrf = await desk.login("陈主任")
    page = await desk.client.post("/record", data={**FORM, "phone": "12", "csrf": csrf})
    assert page.status_code == 422
    assert "电话" in page.text
    assert FORM["text"] in page.text  # nothing typed is lost
    vague = await desk.client.post(
        "/record", data={**FORM, "text": "有点事想问问", "address": "", "csrf": csrf}
    )
    assert vague.status_code == 422
    assert "类别" in vague.text or "小区" in vague.text
    async with desk.uow_factory() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(DeskRecordedReportRow)) == 0


async def test_recording_is_audited_without_the_data(desk: Desk) -> None:
    csrf = await desk.login("王建国")
    await desk.client.post("/record", data={**FORM, "csrf": csrf})
    changes = [r for r in await desk.audit_rows() if r.action == "change"]
    assert len(changes) == 1
    assert changes[0].record.startswith("order:")
    assert "record:resident.phone" in changes[0].fields
    assert "13900001234" not in repr(changes[0].fields)
