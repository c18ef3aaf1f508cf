"""What the community feature answers: first steps, consent to register an address, a resident's own data."""

from __future__ import annotations

from handlers.community import invites, own_data, registration, rota
from handlers.context import Context
from handlers.features import Feature
from handlers.ports import Conversation
from handlers.verbs import Verb


async def _address(ctx: Context, _args: str) -> None:
    """/address: register or change the address (consent first)."""
    if ctx.resident is not None and ctx.resident.has_consented:
        await registration.ask_compound_for_address(ctx)
    else:
        await registration.start(ctx)


async def _room(ctx: Context, text: str, _conversation: Conversation) -> None:
    await registration.on_room_text(ctx, text)


FEATURE = Feature(
    name="community",
    buttons={
        Verb.REGISTER: registration.on_register,
        Verb.ADDRESS: registration.on_address_step,
        Verb.DELETE_DATA: own_data.on_delete_confirm,
    },
    commands={
        "start": invites.start,  # "/start <code>" from an invite link binds the chat
        "id": invites.my_id,
        "address": _address,
        "mydata": lambda ctx, _: own_data.my_data(ctx),
        "deletedata": lambda ctx, _: own_data.delete_data(ctx),
        "rota": rota.rota,  # the weekly duty rota: grid leaders edit their grid's
    },
    steps={registration.STEP_ROOM: _room},
)
