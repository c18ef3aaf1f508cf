"""Which database failures are worth another attempt: the core replays those updates instead of apologising."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Serialization failure and deadlock (PostgreSQL): the same transaction succeeds when run again.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def transient(error: Exception) -> bool:
    """A lost or refused connection, a timeout, a serialization failure or a deadlock; never a bad statement."""
    if isinstance(error, OSError | TimeoutError):
        return True
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return code in _RETRY_SQLSTATES or (isinstance(code, str) and code.startswith("08"))
    return False
