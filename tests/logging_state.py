"""Tests that set up logging as `gridbot run` does put the process-wide logging state back afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.ops.logs import DRIVER_FLOORS


@contextmanager
def logging_restored() -> Iterator[None]:
    """The root logger's handlers and level, and the drivers' levels, as they were before the block."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    drivers = {name: logging.getLogger(name).level for name in DRIVER_FLOORS}
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for name, driver_level in drivers.items():
            logging.getLogger(name).setLevel(driver_level)
