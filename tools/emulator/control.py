"""HTTP control API of the emulator, for driving a standalone instance (benchmarks, manual runs).

All routes live under ``/_emulator/`` and take/return JSON; they mirror the Python API:

- ``POST /_emulator/user/{text|command|photo|location|button}`` with the keyword arguments of
  ``user_sends_text`` etc. (``photo`` takes ``data_base64``); answers ``{"update": ...}``.
- ``POST /_emulator/inject`` ``{"method", "error_code", "description"?, "times"?, "chat_id"?, "retry_after"?}``
- ``POST /_emulator/block`` / ``/_emulator/unblock`` ``{"chat_id"}``
- ``POST /_emulator/rate_limit`` ``{"overall_per_second"?, "per_chat_per_second"?, "per_group_per_minute"?}``
  or ``{}`` to turn limits off.
- ``GET /_emulator/sent?chat_id=&since=``, ``GET /_emulator/requests?method=&since=``, ``GET /_emulator/stats``
- ``POST /_emulator/wait`` ``{"count", "chat_id"?, "since"?, "timeout"?}``: the bot's messages, long-polled.

``time`` fields are ``time.monotonic()`` of the emulator process (CLOCK_MONOTONIC on Linux, so
comparable with a driver process on the same machine).
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from aiohttp import web

from tools.emulator.actions import UserActions
from tools.emulator.dispatch import Dispatch
from tools.emulator.observe import Observations
from tools.emulator.records import BotMessage, EmulatorTimeout, RateLimit


class Controllable(UserActions, Observations, Dispatch):
    """What the control API drives: simulated users, observations, faults and limits (the `Emulator`)."""


__all__ = ["Controllable", "add_control_routes"]

_EMULATOR: web.AppKey[Controllable] = web.AppKey("emulator")


def _message_json(m: BotMessage) -> dict[str, Any]:
    # The fields as they are (JSON already), not dataclasses.asdict: that deep-copies every message's `raw`
    # only to drop it, and a load generator polling /sent held the emulator's loop for that long.
    return {f.name: getattr(m, f.name) for f in dataclasses.fields(m) if f.name != "raw"}


def _emu(request: web.Request) -> Controllable:
    return request.app[_EMULATOR]


async def _json(request: web.Request) -> dict[str, Any]:
    body = await request.json() if request.body_exists else {}
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


async def _user(request: web.Request) -> web.Response:
    emu, body = _emu(request), await _json(request)
    action = request.match_info["action"]
    try:
        if action == "text":
            update = emu.user_sends_text(**body)
        elif action == "command":
            update = emu.user_sends_command(**body)
        elif action == "photo":
            data = body.pop("data_base64", None)
            update = emu.user_sends_photo(**body, data=base64.b64decode(data) if data else None)
        elif action == "location":
            update = emu.user_shares_location(**body)
        elif action == "button":
            update = emu.user_presses_button(**body)
        else:
            raise web.HTTPNotFound(text=f"unknown user action {action}")
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"update": update})


async def _inject(request: web.Request) -> web.Response:
    emu, body = _emu(request), await _json(request)
    code = int(body.get("error_code", 429))
    retry_after = body.get("retry_after", 1 if code == 429 else None)
    default = {
        429: f"Too Many Requests: retry after {retry_after}",
        403: "Forbidden: bot was blocked by the user",
    }
    emu.inject_error(
        str(body["method"]),
        code,
        str(body.get("description") or default.get(code, "Bad Request")),
        times=int(body.get("times", 1)),
        chat_id=body.get("chat_id"),
        retry_after=retry_after,
    )
    return web.json_response({"ok": True})


async def _block(request: web.Request) -> web.Response:
    emu, body = _emu(request), await _json(request)
    if request.match_info["verb"] == "block":
        emu.block(int(body["chat_id"]))
    else:
        emu.unblock(int(body["chat_id"]))
    return web.json_response({"ok": True})


async def _rate_limit(request: web.Request) -> web.Response:
    emu, body = _emu(request), await _json(request)
    emu.set_rate_limit(
        RateLimit(
            overall_per_second=body.get("overall_per_second"),
            per_chat_per_second=body.get("per_chat_per_second"),
            per_group_per_minute=body.get("per_group_per_minute"),
        )
        if body
        else None
    )
    return web.json_response({"ok": True})


async def _sent(request: web.Request) -> web.Response:
    emu = _emu(request)
    chat_id = request.query.get("chat_id")
    since = int(request.query.get("since", 0))
    messages = emu.sent(int(chat_id) if chat_id else None, since=since)
    return web.json_response([_message_json(m) for m in messages])


async def _requests(request: web.Request) -> web.Response:
    emu = _emu(request)
    method = request.query.get("method", "").lower()
    since = int(request.query.get("since", 0))
    records = [
        dataclasses.asdict(r)
        for r in emu.requests.records
        if r.seq > since and (not method or r.method.lower() == method)
    ]
    return web.json_response(records)


async def _stats(request: web.Request) -> web.Response:
    emu = _emu(request)
    return web.json_response(
        {
            "counts": dict(emu.counts),
            "pending_updates": {str(b.id): len(b.pending) for b in emu.bots.values()},
            "messages_sent": len(emu.messages.records),
            "requests": len(emu.requests.records),
            "checkpoint": emu.checkpoint(),
        }
    )


async def _wait(request: web.Request) -> web.Response:
    emu, body = _emu(request), await _json(request)
    chat_id = body.get("chat_id")
    try:
        messages = await emu.wait_for_messages(
            int(body.get("count", 1)),
            int(chat_id) if chat_id is not None else None,
            timeout=float(body.get("timeout", 5.0)),
            since=int(body.get("since", 0)),
        )
    except EmulatorTimeout as exc:
        raise web.HTTPGatewayTimeout(text=str(exc)) from exc
    return web.json_response([_message_json(m) for m in messages])


def add_control_routes(app: web.Application, emu: Controllable) -> None:
    """Mount the control API on the emulator's application."""
    app[_EMULATOR] = emu
    app.router.add_post("/_emulator/user/{action}", _user)
    app.router.add_post("/_emulator/inject", _inject)
    app.router.add_post("/_emulator/{verb:block|unblock}", _block)
    app.router.add_post("/_emulator/rate_limit", _rate_limit)
    app.router.add_get("/_emulator/sent", _sent)
    app.router.add_get("/_emulator/requests", _requests)
    app.router.add_get("/_emulator/stats", _stats)
    app.router.add_post("/_emulator/wait", _wait)
