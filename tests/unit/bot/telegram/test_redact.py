"""No bot token and no phone number reaches the log output, whoever logs them."""

from __future__ import annotations

import io
import logging

from bot.telegram.redact import install_redaction, scrub
from handlers.community.privacy import mask_phones

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_scrub_tokens_and_phones() -> None:
    url = f"POST https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert TOKEN not in scrub(url)
    assert "bot<token>/sendMessage" in scrub(url)
    assert mask_phones("电话 13912345678，座机 0513-85551234") == "电话 139****5678，座机 0513-****1234"


def test_filter_on_the_root_handler_covers_library_loggers() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_redaction()
        logging.getLogger("some.library").warning("calling %s for 13800001111", f"/bot{TOKEN}/getMe")
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logging.getLogger("other").exception("failed")
    finally:
        root.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert "13800001111" not in output
    assert "138****1111" in output
    assert "bot<token>/getMe" in output
    assert logging.getLogger("httpx").level == logging.WARNING
