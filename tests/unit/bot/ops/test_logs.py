"""GRIDBOT_LOG_FORMAT=text|json: one record per line, and no token or phone number in either format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ops.logs import JsonFormatter, configure_logging, make_handler
from bot.settings import LogFormat
from tests.logging_state import logging_restored

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PHONE = "13912345678"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("gridbot.test.logs")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()
    log.propagate = True


def capture(logger: logging.Logger, log_format: LogFormat) -> io.StringIO:
    stream = io.StringIO()
    logger.handlers.clear()
    logger.addHandler(make_handler(log_format, stream))
    return stream


def emit_secrets(logger: logging.Logger) -> None:
    logger.info("calling %s for %s", f"https://api.telegram.org/bot{TOKEN}/getMe", PHONE)
    logger.warning("extra fields", extra={"order_id": 12, "url": f"/bot{TOKEN}/sendMessage", "phone": PHONE})
    try:
        raise ValueError(f"bad token {TOKEN} from {PHONE}")
    except ValueError:
        logger.exception("failed")


@pytest.mark.parametrize("log_format", [LogFormat.TEXT, LogFormat.JSON])
def test_no_token_and_no_phone_in_either_format(logger: logging.Logger, log_format: LogFormat) -> None:
    stream = capture(logger, log_format)
    emit_secrets(logger)
    output = stream.getvalue()
    assert TOKEN not in output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output
    assert PHONE not in output
    assert "139****5678" in output
    assert "bot<token>/getMe" in output
    assert "ValueError" in output  # the traceback is kept, only scrubbed


def test_json_is_one_object_per_line_with_the_standard_and_extra_fields(logger: logging.Logger) -> None:
    stream = capture(logger, LogFormat.JSON)
    emit_secrets(logger)
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # every line is a whole JSON object
    assert len(records) == 3
    first, second, third = records
    assert set(first) == {"ts", "level", "logger", "message"}
    assert first["level"] == "INFO"
    assert first["logger"] == "gridbot.test.logs"
    assert first["ts"].endswith("+00:00")
    assert first["message"] == "calling https://api.telegram.org/bot<token>/getMe for 139****5678"
    assert second["order_id"] == 12  # numbers stay numbers
    assert second["url"] == "/bot<token>/sendMessage"
    assert second["phone"] == "139****5678"
    assert third["level"] == "ERROR"
    assert "Traceback" in third["exc"]
    assert "bad token <token>" in third["exc"]


def test_json_keeps_chinese_readable() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "工单 %s 已升级", ("GD20261130-0001",), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "工单 GD20261130-0001 已升级"
    assert "工单" in JsonFormatter().format(record)


def test_configure_logging_installs_one_redacting_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("info", LogFormat.JSON)
        configure_logging("info", LogFormat.JSON)  # again: replaced, not doubled
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
        logging.getLogger("some.library").warning("token %s phone %s", TOKEN, PHONE)
        err = capsys.readouterr().err
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert [line["message"] for line in lines] == ["token <token> phone 139****5678"]
        assert logging.getLogger("sqlalchemy").level == logging.WARNING
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


async def test_database_errors_do_not_carry_the_parameters(tmp_path: Path) -> None:
    """A failed statement's message (logged by a failing tick or sender) leaves out what was bound."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from storage.database import make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("create table t (id integer primary key, body text not null)"))
            await connection.execute(text("insert into t values (1, 'x')"))
        with pytest.raises(IntegrityError) as raised:
            async with engine.begin() as connection:
                await connection.execute(
                    text("insert into t values (:id, :body)"), {"id": 1, "body": f"张阿姨 {PHONE} 兴泰5号楼"}
                )
        message = str(raised.value)
        assert "UNIQUE constraint failed" in message
        assert PHONE not in message
        assert "兴泰" not in message
        assert "parameters hidden" in message
    finally:
        await engine.dispose()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


# Each of these writes personal data below its floor: SQL parameters, or a whole update.
CHATTY = {
    "aiosqlite": logging.DEBUG,  # "executing <execute('INSERT ...', ('张阿姨', ...))>"
    "sqlalchemy.engine.Engine": logging.INFO,  # every statement's parameters
    "telegram.ext.Application": logging.DEBUG,  # "Processing update <the update>"
    "telegram.ext._utils.webhookhandler": logging.DEBUG,  # "Webhook received data: <the update>"
    "aiogram.scene": logging.DEBUG,  # "Push state=... data=..."
}


@pytest.mark.usefixtures("restore_logging")
def test_driver_loggers_stay_quiet_at_debug() -> None:
    configure_logging("debug", LogFormat.TEXT)
    assert logging.getLogger("gridbot.anything").isEnabledFor(logging.DEBUG)
    for name, chatty_level in CHATTY.items():
        assert not logging.getLogger(name).isEnabledFor(chatty_level), name
    assert logging.getLogger("telegram.ext.Application").isEnabledFor(logging.INFO)  # start/stop lines kept


@pytest.mark.usefixtures("restore_logging")
def test_a_higher_level_still_wins_and_driver_debug_is_an_explicit_opt_in() -> None:
    configure_logging("error", LogFormat.TEXT)
    assert not logging.getLogger("telegram.ext.Application").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.WARNING)
    configure_logging("debug", LogFormat.TEXT, driver_debug=True)
    assert logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
    configure_logging("debug", LogFormat.TEXT)
    assert not logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
