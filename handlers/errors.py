"""The core's refusals: each carries a code that picks the Chinese message the user sees."""

from __future__ import annotations


class DomainError(Exception):
    """Root of the core's errors; `code` picks the Chinese message shown to the user."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class TransitionNotAllowed(DomainError):
    pass


class NotAuthorised(DomainError):
    pass
