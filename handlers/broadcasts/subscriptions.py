"""Residents choose which kinds of broadcasts they receive (/subscriptions). Emergencies always arrive."""

from __future__ import annotations

from handlers import verbs
from handlers.broadcasts import texts as bt
from handlers.broadcasts.model import OPTIONAL_TOPICS, Topic
from handlers.context import Context, rows
from handlers.messages import Button
from handlers.verbs import Action, Verb


def _keyboard(off: set[Topic]) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(bt.topic_button(t.label, t not in off), verbs.encode(Verb.SUBSCRIPTION, t.value))
        for t in OPTIONAL_TOPICS
    ]
    return rows(buttons, 2)


async def subscriptions_command(ctx: Context, _args: str) -> None:
    """Show the topics with on/off buttons."""
    off = await ctx.uow.broadcasts.topics_off(ctx.incoming.sender_id)
    await ctx.answer(bt.SUBSCRIPTIONS, _keyboard(off))


async def on_toggle(ctx: Context, action: Action) -> None:
    """Switch one topic for the chat that pressed; the list is redrawn in place."""
    topic = next((t for t in OPTIONAL_TOPICS if t.value == action.word("topic")), None)
    if topic is None:  # a tampered button, or "emergency", which cannot be switched off
        ctx.callback_answer = bt.refused("bad_topic")
        return
    # The chat is the pressing person's own: opt-outs are keyed by who pressed, never by button data.
    chat_id = ctx.incoming.sender_id
    off = await ctx.uow.broadcasts.topics_off(chat_id)
    turn_on = topic in off
    await ctx.uow.broadcasts.set_topic(chat_id, topic, turn_on)
    off = off - {topic} if turn_on else off | {topic}
    ctx.callback_answer = bt.topic_toggled(topic.label, turn_on)
    if ctx.incoming.callback_message_id is not None:
        await ctx.say(
            ctx.chat_id, bt.SUBSCRIPTIONS, _keyboard(off), edit_message_id=ctx.incoming.callback_message_id
        )
