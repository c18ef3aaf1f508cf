"""Core statements run straight on the bot's inline SQLite connection, in the session's own transaction.

Around every statement SQLAlchemy spends ~100 µs of CPU (the session's dispatch, an execution context, a
greenlet hop per driver call, the result's metadata) while SQLite runs a report's statements in ~10 µs
each: on the report path that was a third of the bot's CPU (cProfile and py-spy under load, issue 16).
Here a Core statement the process runs again and again is compiled by SQLAlchemy once (its SQL, the order
of its parameters, its types' bind and result processors) and then run on the sqlite3 connection that
holds the session's transaction: same SQL, same transaction, same conversions, same Result API.

Only what is simple is taken this way; anything else goes through SQLAlchemy as before:
- a statement's first two executions (one built per call would pay a compile each time: SQLAlchemy's
  cache is better for it); the second compiles it, from the third on it runs here;
- ORM statements (mapped objects), text(), IN lists the caller gives (a fixed list is written out),
  Python-side column defaults, execution options;
- a session with pending ORM changes (SQLAlchemy flushes them first), or bound to anything but the
  inline SQLite of storage/sqlite_inline.py (PostgreSQL, the desk's threaded aiosqlite);
Statements run here pass no engine event (`before_cursor_execute` sees only SQLAlchemy's): what counts
statements listens to both, with `observe` (benchmarks/bench_bot.py, tests/storage_counting.py).
Errors are SQLAlchemy's (`DBAPIError.instance`), parameters hidden as the engine hides them.
"""

from storage.direct.plans import DirectResult, Observer, Plan, observe
from storage.direct.sessions import DirectConnection, DirectSession

__all__ = ["DirectConnection", "DirectResult", "DirectSession", "Observer", "Plan", "observe"]
