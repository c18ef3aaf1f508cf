"""Chinese numerals -> ASCII digit strings ("十二" -> "12", "五零一" -> "501")."""

from __future__ import annotations

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "幺": 1,  # how 1 is read aloud in numbers (房间幺零二, 幺幺零)
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}

# Characters a numeral may be written with; location regexes build on it.
NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)


def to_digits(numeral: str) -> str | None:
    """Normalise an ASCII or Chinese numeral to ASCII digits; None when it is not a numeral.

    Two written forms exist: positional ("十二", "一百零一") and digit by digit, as residents
    read room numbers aloud ("五零一"). Without a unit character we read digit by digit.
    """
    text = numeral.strip()
    if not text:
        return None
    if text.isascii():
        return text if text.isdigit() else None
    if any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    if not any(ch in _UNITS for ch in text):
        return "".join(str(_DIGITS[ch]) for ch in text)
    return _positional(text)


def _positional(text: str) -> str | None:
    total = 0
    pending: int | None = None
    for ch in text:
        if ch in _DIGITS:
            if pending is not None and pending != 0:
                return None  # two digits in a row inside a positional numeral: not a number we know
            pending = _DIGITS[ch]
        else:
            unit = _UNITS[ch]
            # "十二": a leading unit means one of it.
            total += (1 if pending is None else pending) * unit
            pending = None
    if pending is not None:
        total += pending
    return str(total)
