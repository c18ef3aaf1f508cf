"""The one root exception of the nlp layer."""

from __future__ import annotations

from pathlib import Path


class NlpError(Exception):
    """Base class of every error raised by nlp/."""


class RulesError(NlpError):
    """A rules file (or rules mapping) is malformed; the message names the file and the faulty entry."""

    def __init__(self, source: str | Path, problem: str, line: int | None = None) -> None:
        self.source = str(source)
        self.problem = problem
        self.line = line  # 1-based, when the file is YAML text and the entry was found in it
        where = f"{self.source}:{line}" if line else self.source
        super().__init__(f"{where}: {problem}")
