"""The model file: a JSON header line and the weights as raw little-endian doubles.

Layout::

    GRIDBOT-LINEAR 1\n
    {"labels": [...], "chars": N, "words": M, "names_bytes": B, "policy": {...}, "meta": {...}}\n
    feature names: B bytes of UTF-8, newline-separated (N n-grams then M words)
    idf: (N + M) doubles | weights: (N + M) x len(labels) doubles, row-major | intercepts: len(labels)

Reading it is a split and two `array.frombytes` calls (a few milliseconds for ~20,000 features), which
keeps `gridbot classify`'s start-up short; the equivalent JSON took several times longer to parse.
"""

from __future__ import annotations

import json
import sys
from array import array
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlp.errors import NlpError
from nlp.learned.model import LinearModel, Policy

MAGIC = b"GRIDBOT-LINEAR 1\n"


class ModelError(NlpError):
    """A model file is missing, unreadable or not a gridbot model; the message names the file."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


def _doubles(values: Any) -> array[float]:
    out = array("d", values)
    if sys.byteorder == "big":
        out.byteswap()
    return out


def dump_model(model: LinearModel, path: Path) -> None:
    """Write `model` to `path` (replaced atomically: a half-written file never replaces a good one)."""
    names = [*model.chars, *model.words]
    if [model.chars[n] for n in model.chars] != list(range(len(model.chars))) or [
        model.words[n] for n in model.words
    ] != list(range(len(model.chars), len(names))):
        raise ValueError("feature rows must be numbered in insertion order, n-grams first")
    if any("\n" in n for n in names):
        raise ValueError("a feature name contains a newline")
    encoded = "\n".join(names).encode("utf-8")
    header = {
        "labels": list(model.labels),
        "chars": len(model.chars),
        "words": len(model.words),
        "names_bytes": len(encoded),
        "policy": asdict(model.policy),
        "meta": model.meta,
    }
    body = b"".join(
        [
            MAGIC,
            json.dumps(header, ensure_ascii=False).encode("utf-8"),
            b"\n",
            encoded,
            _doubles(model.idf).tobytes(),
            _doubles(model.weights).tobytes(),
            _doubles(model.intercepts).tobytes(),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


def load_model(path: Path) -> LinearModel:
    """Read a model file written by `dump_model`.

    Raises:
        ModelError: missing or unreadable file, or not a complete gridbot model file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(path, f"cannot read model file ({exc.strerror or exc})") from exc
    if not data.startswith(MAGIC):
        raise ModelError(path, "not a gridbot model file (run `gridbot nlp train` to make one)")
    try:
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC) : end])
        labels = [str(label) for label in header["labels"]]
        n_chars, n_words = int(header["chars"]), int(header["words"])
        policy = Policy(**header["policy"])
        meta = header.get("meta") or {}
        rows = n_chars + n_words
        names_end = end + 1 + int(header["names_bytes"])
        names = data[end + 1 : names_end].decode("utf-8").split("\n") if rows else []
        numbers = array("d")
        numbers.frombytes(data[names_end:])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelError(path, f"corrupt model file ({exc})") from exc
    k = len(labels)
    if not k or len(names) != rows or len(numbers) != rows + rows * k + k:
        raise ModelError(path, "corrupt model file (truncated or sizes do not match its header)")
    if sys.byteorder == "big":
        numbers.byteswap()
    chars = dict(zip(names[:n_chars], range(n_chars), strict=True))
    words = dict(zip(names[n_chars:], range(n_chars, rows), strict=True))
    return LinearModel(
        labels,
        chars,
        words,
        numbers[:rows],
        numbers[rows : rows + rows * k],
        numbers[rows + rows * k :],
        policy,
        meta,
    )
