"""The one text normalisation every matcher in nlp/ applies, so rules and messages compare alike."""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """NFKC (full-width digits, ＃ and － become ASCII) and lower case (ETC == etc)."""
    return unicodedata.normalize("NFKC", text).lower()
