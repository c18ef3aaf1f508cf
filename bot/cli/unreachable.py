"""Tell "a service cannot be reached" apart from a bug, and say it in one line.

A database that is down, a wrong host, a SQLite file in a folder that does not exist, a Bot API or Redis
out of reach: commands print one line and exit with status 2; `gridbot run` waits and tries again. The
line names the service and the innermost reason (never a URL, which may carry a password, nor an SQL
statement, which may carry personal data). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator

UNREACHABLE_EXIT = 2

# Where a failure was raised, by the packages in its traceback: the first match names the service.
_SERVICES = (
    ("the database", ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "alembic")),
    ("the Telegram Bot API", ("telegram", "aiogram", "httpx", "httpcore", "aiohttp")),
    ("Redis", ("redis",)),
)
# Errors that mean "not reachable (now)" wherever they come from, by class name (no framework imported).
_NETWORK_CLASSES = frozenset(
    {
        "NetworkError",  # python-telegram-bot (TimedOut is one)
        "TelegramNetworkError",  # aiogram
        "ClientConnectionError",  # aiohttp
        "ConnectError",  # httpx
        "ConnectTimeout",
        "CannotConnectNowError",  # asyncpg: the server is starting or shutting down
        "TooManyConnectionsError",
        "InvalidCatalogNameError",  # asyncpg: no such database
        "InvalidPasswordError",
        "InvalidAuthorizationSpecificationError",
    }
)
_SQLITE_UNREACHABLE = ("unable to open database file",)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_network(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & _NETWORK_CLASSES:
        return True
    if isinstance(error, ConnectionError | TimeoutError) or type(error).__name__ == "gaierror":
        return True
    if type(error) is OSError:
        return True  # asyncpg's "Multiple exceptions: [Errno 111] Connect call failed ..." (IPv4 and IPv6)
    text = str(error)
    return type(error).__name__ == "OperationalError" and any(s in text for s in _SQLITE_UNREACHABLE)


def _service(error: BaseException) -> str:
    modules = []
    for part in _chain(error):
        modules += [frame.filename for frame in traceback.extract_tb(part.__traceback__)]
        modules.append(type(part).__module__.replace(".", "/"))
    for name, packages in _SERVICES:
        if any(f"/{package}/" in f"/{module}/" for module in modules for package in packages):
            return name
    return "a service"


def unreachable(error: BaseException) -> str | None:
    """One line saying which service could not be reached and why; None when `error` is something else."""
    causes = [part for part in _chain(error) if _is_network(part)]
    if not causes:
        return None
    innermost = causes[-1]
    reason = str(getattr(innermost, "orig", None) or innermost).strip().splitlines()
    detail = (
        f"{type(innermost).__name__}: {reason[0][:160]}" if reason and reason[0] else type(innermost).__name__
    )
    return f"cannot reach {_service(error)} ({detail})"
