"""Core statements run straight on the driver's connection, in the session's own transaction: the bot's
inline SQLite connection, or the asyncpg connection beneath SQLAlchemy's adapter on PostgreSQL.

Around every statement SQLAlchemy spends ~100 µs of CPU (the session's dispatch, an execution context, a
greenlet hop per driver call, the result's metadata) while SQLite runs a report's statements in ~10 µs
each: on the report path that was a third of the bot's CPU (cProfile and py-spy under load, issue 16).
Here a Core statement the process runs again and again is compiled by SQLAlchemy once (its SQL, the order
of its parameters, its types' bind and result processors) and then run on the sqlite3 connection that
holds the session's transaction: same SQL, same transaction, same conversions, same Result API.

Only what is simple is taken this way; anything else goes through SQLAlchemy as before:
- a statement's first two executions (one built per call would pay a compile each time: SQLAlchemy's
  cache is better for it); the second compiles it, from the third on it runs here;
- ORM statements (mapped objects), text(), an empty IN list (a list the caller gives is written out per
  length, a fixed one once), Python-side column defaults, execution options;
- a session with pending ORM changes (SQLAlchemy flushes them first), or bound to anything but the
  inline SQLite of storage/sqlite_inline.py or asyncpg (the desk's threaded aiosqlite).

PostgreSQL (storage/direct/postgres.py): the same plans, compiled for asyncpg's numbered parameters (IN
lists written by SQLAlchemy's own expansion), run as the adapter's cursor runs them: the adapter's BEGIN at
the first statement, its prepared-statement cache, its row count, its errors (a connection the server
dropped is invalidated). SQLAlchemy's execution cost 0.7-1.0 ms of CPU an update there (the in-process
benchmark: 4.3-4.5 ms of CPU an update before, 3.3-3.8 after; issue 16); a list of rows with RETURNING
stays with SQLAlchemy. The sender's "sent" runs in autocommit on a held connection
(`DirectConnection.autocommit`).

Transactions: a DirectSession whose first work is such a statement begins the transaction itself on a
connection of the pool (BEGIN IMMEDIATE, the engine's write lock) and commits it itself, without
SQLAlchemy's session transaction (~110 µs of CPU a unit of work; SQLite only); anything the session then
does through SQLAlchemy joins that transaction on that connection, and SQLAlchemy then commits it. A DirectConnection is
the same for the sender's short "sent" transactions, without a session.

Statements and transactions run here pass no engine event (`before_cursor_execute`, `commit` see only
SQLAlchemy's): what counts them listens to both, with `observe` (benchmarks/bench_bot.py,
tests/integration/delivery/test_report_cost.py).
Errors are SQLAlchemy's (`DBAPIError.instance`), parameters hidden as the engine hides them.
"""

from storage.direct.plans import DirectResult, Observer, Plan, observe
from storage.direct.sessions import DirectConnection, DirectSession

__all__ = ["DirectConnection", "DirectResult", "DirectSession", "Observer", "Plan", "observe"]
