"""Spreadsheet cells that cannot run: text that a spreadsheet would read as a formula is escaped.

A resident's message or a name starting with "=", "+", "-", "@" (or a tab / carriage return before one) would
be evaluated by Excel or WPS when staff open an export (CSV injection, OWASP). In CSV such text gets a leading
apostrophe; in xlsx it is written as a string cell with Excel's quote prefix, so it shows as typed and never
computes.
"""

from __future__ import annotations

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def looks_like_formula(text: str) -> bool:
    return text.startswith(_TRIGGERS) or text.lstrip(" \t\r\n").startswith(("=", "+", "@"))


def escape_formula(text: str) -> str:
    """The text for a CSV cell: a leading apostrophe when it could be read as a formula."""
    return "'" + text if looks_like_formula(text) else text
