"""Telling staff what the bot could not handle: an update given up after failing again and again.

Logged alone, such an update is a resident who never got an answer and nobody who knows. The message says
which update and what kind it was, never its content (staff find the rest in the log by its number).
"""

from __future__ import annotations

from handlers.community.model import Role
from handlers.context import Context

_KINDS = {
    "message": "一条消息",
    "edited_message": "一条修改过的消息",
    "callback_query": "一次按钮点击",
    "my_chat_member": "一次入群/退群变化",
}


def update_given_up(update_id: int, kind: str, attempts: int) -> str:
    what = _KINDS.get(kind, "一条更新")
    return (
        f"⚠️ 系统提醒：{what}（更新编号 {update_id}）连续 {attempts} 次处理失败，已停止重试。"
        "发消息的人可能没有收到回复；请把这个编号告诉技术人员查看日志。"
    )


async def tell_staff_update_given_up(ctx: Context, update_id: int, kind: str, attempts: int) -> int:
    """Queue the notice to every staff member; returns how many were told."""
    staff = await ctx.uow.community.people(role=Role.STAFF)
    for person in staff:
        await ctx.say(person.chat_id, update_given_up(update_id, kind, attempts))
    return len(staff)
