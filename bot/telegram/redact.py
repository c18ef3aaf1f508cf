"""Keep bot tokens and phone numbers out of the logs, whatever library logs them.

Phone numbers are masked by handlers/community/privacy.py `mask_phones`, the same function the grid group's
order cards use (+86 / 0086 prefixes, separators, full-width digits). Names and message texts cannot be
recognised in a line: they are kept out by logging ids only and by holding the drivers that would print them
(SQL parameters, raw updates) at WARNING, bot/ops/logs.py `DRIVER_FLOORS`.
"""

from __future__ import annotations

import logging
import re

from handlers.community.privacy import mask_phones

# A bot token is "<bot id>:<secret>"; in URLs it follows "bot" (…/bot123456:ABC…/sendMessage).
_TOKEN = re.compile(r"(bot)?\d{5,}:[A-Za-z0-9_-]{20,}")

# Loggers that print request URLs (which carry the token) or message bodies at INFO.
NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "aiohttp.access",
    "aiohttp.client",
    "telegram.ext.ExtBot",
    "telegram.Bot",
)


def scrub(text: str) -> str:
    """Remove bot tokens and mask phone numbers."""
    text = _TOKEN.sub(lambda m: (m.group(1) or "") + "<token>", text)
    return mask_phones(text)


class RedactingFilter(logging.Filter):
    """A handler filter: rewrites each record's message (and traceback) before it is formatted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            # The formatter reuses exc_text when set, so the traceback is scrubbed too.
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Filter every handler of `logger` (default: root) and quiet the URL-logging HTTP clients.

    Handler filters, unlike logger filters, also see records propagated from child loggers.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
