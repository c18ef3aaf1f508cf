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

# Loggers whose INFO lines would carry SQL parameters (personal data).
_QUIET = ("sqlalchemy",)


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


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Log to stderr in `log_format` at `level`; redact every root handler; quiet SQL and HTTP clients."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _GridbotHandler)]:
        root.removeHandler(old)
    root.addHandler(make_handler(log_format))
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction()
