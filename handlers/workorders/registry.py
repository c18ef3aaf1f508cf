"""What the work-order feature answers: its buttons (接单, 转派, 办结, 评价 …), commands and conversation steps."""

from __future__ import annotations

from handlers.context import Context
from handlers.features import Feature
from handlers.ports import Conversation
from handlers.verbs import Verb
from handlers.workorders import attachments, duty, groups, member, opening, reporting, resident


async def _resolve_note(ctx: Context, text: str, conversation: Conversation) -> None:
    await member.on_resolve_note(ctx, text, int(conversation.data["order_id"]))


async def _follower_reply(ctx: Context, text: str, conversation: Conversation) -> None:
    data = conversation.data
    await member.on_follower_reply(ctx, text, int(data["order_id"]), int(data["resident_id"]))


FEATURE = Feature(
    name="workorders",
    buttons={
        # A resident reporting: privacy consent (a report may be waiting for it), the questions, "me too".
        Verb.CONSENT: reporting.on_consent,
        Verb.REPORT_COMPOUND: reporting.on_report_choice,
        Verb.REPORT_BUILDING: reporting.on_report_choice,
        Verb.REPORT_CATEGORY: reporting.on_report_choice,
        Verb.JOIN_SIMILAR: reporting.on_duplicate_choice,
        Verb.OPEN_NEW: reporting.on_duplicate_choice,
        # A possible emergency: the reporter says whether it is happening now.
        Verb.EMERGENCY_CHECK: opening.on_emergency_check,
        # A resident's own orders.
        Verb.CANCEL: resident.on_cancel,
        Verb.RATE: resident.on_rate,
        # The grid member's card, and staff.
        Verb.ACCEPT: member.on_accept,
        Verb.TRANSFER_MENU: member.on_transfer_menu,
        Verb.TRANSFER_TO: member.on_transfer_to,
        Verb.RETURN: member.on_return,
        Verb.RESOLVE: member.on_resolve,
        Verb.DISPATCH: member.on_dispatch,
        Verb.SUPERVISE: member.on_supervise,
        Verb.REPLY_FOLLOWER: member.on_reply_follower,  # answer a "me too" follower's words
        Verb.ORDERS_PAGE: member.on_orders_page,
        # /leave and /back: hand open orders to the deputy or grid leader, and take them back.
        Verb.HANDOVER: duty.on_handover,
        # The grid's group chat.
        Verb.CLAIM: groups.on_claim,
    },
    commands={
        "my": lambda ctx, _: resident.my_orders(ctx),
        "orders": member.open_orders,  # a page at a time; "/orders GD…" finds one
        "history": resident.history,
        "leave": duty.leave,
        "back": duty.back,
        "team": duty.team,
        "overdue": duty.overdue,
    },
    steps={
        attachments.STEP_ATTACH: attachments.report_with_attachments,
        member.STEP_RESOLVE_NOTE: _resolve_note,
        member.STEP_FOLLOWER_REPLY: _follower_reply,
    },
)
