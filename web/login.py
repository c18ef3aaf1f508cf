"""Login by link, logout. Opening a link shows a button: chat apps fetch links for previews, and a GET
must not use up a single-use link; only the POST from the button does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from web.auth import COOKIE, TooManyAttempts
from web.common import checked_form, desk, login_needed, render, source, viewer_of


async def login_page(request: Request) -> Response:
    response = render(request, "login.html", None, token=str(request.path_params["token"]))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def login_submit(request: Request) -> Response:
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or not token or len(token) > 100:
        return login_needed(request)
    state = desk(request)
    try:
        done = await state.sessions.login(token, source(request))
    except TooManyAttempts:
        return render(request, "login_needed.html", None, status=429, too_many=True)
    if done is None:
        return render(request, "login_needed.html", None, status=401, expired=True)
    session_token, _person = done
    response = RedirectResponse("/orders", status_code=303)
    response.set_cookie(
        COOKIE,
        session_token,
        httponly=True,
        samesite="lax",
        secure=state.public_url.startswith("https://"),
        max_age=int(state.sessions.max_age.total_seconds()),
    )
    return response


async def logout(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is not None:
        await checked_form(request, viewer)
        await desk(request).sessions.logout(viewer, source(request))
    response = RedirectResponse("/bye", status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def bye(request: Request) -> Response:
    return render(request, "bye.html", None)


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def home(request: Request) -> Response:
    return RedirectResponse("/orders", status_code=303)


ROUTES = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/login/{token:str}", login_page),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/bye", bye),
]
