"""Log output for long-running commands: plain text or one JSON object per line, always redacted.

GRIDBOT_LOG_FORMAT=json writes `{"ts", "level", "logger", "message", ...extra fields}` per line for log
collectors. Both formats go through bot/telegram/redact.py (bot tokens removed, phone numbers masked),
and the JSON formatter scrubs every field again, extras and tracebacks included.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from bot.settings import LogFormat
from bot.telegram.redact import RedactingFilter, install_redaction, scrub

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# Driver loggers and the lowest level they may log at, whatever GRIDBOT_LOG_LEVEL says. Below it they write
# personal data: sqlalchemy.engine and aiosqlite every SQL statement with its parameters (message texts,
# names, phones, raw updates in the journal), PTB "Processing update <the whole update>" and the webhook's
# "received data", aiogram's scenes their state data.
DRIVER_FLOORS: dict[str, int] = {
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "asyncpg": logging.WARNING,
    "telegram": logging.INFO,
    "aiogram": logging.INFO,
}


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(value if isinstance(value, str) else str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, ISO 8601), level, logger, message and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = _clean(value)
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            entry["exc"] = scrub(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


class _GridbotHandler(logging.StreamHandler):
    """The handler configure_logging installs (a second call replaces it rather than adding one)."""


def make_handler(log_format: LogFormat, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) in `log_format`, with the redacting filter."""
    handler = _GridbotHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter())
    return handler


def quiet_drivers(level: int, *, driver_debug: bool = False) -> None:
    """Hold the driver loggers at their floor (or at `level` when it is higher).

    `driver_debug` is the explicit opt-in for debugging the drivers themselves: they then follow `level`
    and their lines carry personal data, so it must never be left on in production.
    """
    for name, floor in DRIVER_FLOORS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if driver_debug else max(floor, level))


def configure_logging(level: str, log_format: LogFormat, *, driver_debug: bool = False) -> None:
    """Log to stderr in `log_format` at `level`; redact every root handler; quiet drivers and HTTP clients."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _GridbotHandler)]:
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())
    quiet_drivers(root.level, driver_debug=driver_debug)
    install_redaction()
