"""Local services the tests need (PostgreSQL, Redis): skip on a laptop, fail in CI.

Waiting for a started process's port is :func:`tools.loopback.listening` (benchmarks use it too).
"""

from __future__ import annotations

import os

import pytest


def require(problem: str | None, what: str) -> None:
    """Skip when `what` is unreachable on a developer's machine; fail under CI, which must provide it."""
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI but not reachable: {problem}")
    pytest.skip(f"{what} not reachable ({problem})")
