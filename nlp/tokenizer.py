"""A private jieba tokenizer holding gridbot's user dictionary.

A `jieba.Tokenizer` instance (not the module-level default) keeps our words out of any other
jieba user in the process. It is built lazily: the classifier only needs tokens for `whole_word`
keywords. jieba itself is imported on first use too (its HMM tables alone take tens of milliseconds to
import): `echo x | gridbot classify` never needs it.

Building the dictionary the way jieba does costs most of a second (its cache file is read back by
`marshal.load` from a file object, one small read per entry, ~0.7 s; then every user word is added with a
suggested frequency), so the finished dictionary, user words included, is kept in a cache file of our
own: one array of frequencies and one block of words, read back in ~0.15 s. Its name is a digest of
everything the dictionary is built from (jieba's version and dictionary file, the user dictionary, the
extra words), so a change to any of them builds and caches a new one; the tokens are jieba's own, cut by
jieba's code from the same dictionary.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

    import jieba

_RECENT = 4096  # pieces of text whose token boundaries are remembered (the same few recur)
WINDOW = 6  # characters segmented on each side of a whole-word keyword
_MAGIC = b"gridbot-jieba-1\n"
_HEADER = struct.Struct("<QQQ")  # jieba's total, number of entries, bytes of words


def default_cache_dir() -> Path:
    """Where the built dictionary is kept: GRIDBOT_CACHE_DIR, else the user's cache folder (the temporary
    folder for a user without a home)."""
    configured = os.environ.get("GRIDBOT_CACHE_DIR")
    if configured:
        return Path(configured)
    caches = os.environ.get("XDG_CACHE_HOME")
    if caches:
        return Path(caches) / "gridbot"
    home = os.path.expanduser("~")
    if home == "~":  # no home to expand
        import tempfile

        return Path(tempfile.gettempdir()) / "gridbot"
    return Path(home) / ".cache" / "gridbot"


class Tokenizer:
    """Segment text with jieba plus a user dictionary and extra words (compound names, keywords)."""

    def __init__(
        self, userdict: Path | None = None, extra_words: Iterable[str] = (), cache_dir: Path | None = None
    ) -> None:
        """`cache_dir`: where the built dictionary is cached (default_cache_dir() when None)."""
        self._userdict = userdict
        self._cache_dir = cache_dir
        self._extra_words = tuple(dict.fromkeys(w for w in extra_words if w))
        self._jieba: jieba.Tokenizer | None = None
        self._blocks: re.Pattern[str] | None = None
        self._recent: dict[str, frozenset[int]] = {}

    @property
    def words(self) -> tuple[str, ...]:
        """Extra words kept whole (besides the user dictionary file)."""
        return self._extra_words

    def _build(self) -> jieba.Tokenizer:
        import jieba

        # jieba logs "Building prefix dict ..." at DEBUG; `gridbot classify` output must stay clean.
        jieba.setLogLevel(logging.WARNING)
        tok = jieba.Tokenizer()
        userdict = self._userdict.read_bytes() if self._userdict is not None else b""
        cache = (self._cache_dir or default_cache_dir()) / f"jieba-{self._digest(jieba, userdict)}.bin"
        cached = _read_cache(cache)
        if cached is not None:
            tok.FREQ, tok.total = cached
            tok.initialized = True  # what initialize() and the user words would have made
            return tok
        tok.initialize()
        if self._userdict is not None:
            # Pass an open file: given a path, jieba opens it and never closes it (ResourceWarning).
            with self._userdict.open("rb") as fh:
                tok.load_userdict(fh)
        for word in self._extra_words:
            tok.add_word(word)
        _write_cache(cache, tok.FREQ, tok.total)
        return tok

    def _digest(self, jieba: object, userdict: bytes) -> str:
        """A fingerprint of everything the finished dictionary depends on."""
        main = Path(getattr(jieba, "__file__", "")).with_name("dict.txt")
        stat = main.stat() if main.exists() else None
        import hashlib  # here, not at the top: `echo x | gridbot classify` never needs it

        h = hashlib.sha256()
        for part in (
            getattr(jieba, "__version__", ""),
            f"{main}:{stat.st_size}:{stat.st_mtime_ns}" if stat else str(main),
            sys.byteorder,
        ):
            h.update(part.encode() + b"\0")
        h.update(hashlib.sha256(userdict).digest())
        h.update("\n".join(self._extra_words).encode("utf-8"))
        return h.hexdigest()[:24]

    def warm_up(self) -> None:
        """Load the dictionaries now instead of on the first message."""
        if self._jieba is None:
            self._jieba = self._build()

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        """Return the tokens of `text` (HMM on by default, as jieba.lcut does; off: dictionary words only)."""
        if self._jieba is None:
            self._jieba = self._build()
        return self._jieba.lcut(text, HMM=hmm)

    def cut_all(self, text: str) -> list[str]:
        """Every dictionary word of `text`, overlapping ones included (jieba's full mode).

        The learned model's word features (nlp/learned) come from this: its Han words are exactly the
        dictionary words occurring in the text, which the model can then count without segmenting.
        """
        if self._jieba is None:
            self._jieba = self._build()
        return self._jieba.lcut(text, cut_all=True)

    def has_token(self, text: str, word: str) -> bool:
        """Whether `word` occurs in `text` as whole tokens: jieba's dictionary segmentation puts a
        token boundary right before and right after it (for a one-word keyword: it is one of the
        tokens; a phrase like 人倒了 may span several, but never starts or ends inside one, as in
        有人倒了一堆). Dictionary words only, no HMM: the HMM guesses new words from neighbouring
        characters (楼道太脏了 -> 太脏), while what must not happen is a keyword inside a real word
        (心脏, 手工作坊).

        Only a window of `WINDOW` characters on each side of an occurrence is segmented, within its
        block (jieba splits text into blocks with a fixed regex and segments each on its own): the
        words around a keyword decide whether it stands alone, and segmenting whole messages would
        cost more than all the rest of classifying them.
        """
        if word not in text:
            return False
        if self._blocks is None:
            import jieba

            # The block splitter jieba.Tokenizer.cut uses (accurate mode): the same compiled pattern.
            self._blocks = jieba.re_han_default
        for block in self._blocks.finditer(text):
            b_start, b_end = block.span()
            start = text.find(word, b_start, b_end)
            while start != -1:
                w_start = max(b_start, start - WINDOW)
                end = start + len(word)
                bounds = self._bounds(text[w_start : min(b_end, end + WINDOW)])
                if start - w_start in bounds and end - w_start in bounds:
                    return True
                start = text.find(word, start + 1, b_end)
        return False

    def _bounds(self, window: str) -> frozenset[int]:
        """Token boundary offsets of a piece of text, remembered for the few pieces of the message at
        hand (the engine asks about several words of the same text in a row)."""
        bounds = self._recent.get(window)
        if bounds is None:
            if self._jieba is None:
                self._jieba = self._build()
            at, offsets = 0, [0]
            for token in self._jieba.lcut(window, HMM=False):
                at += len(token)
                offsets.append(at)
            bounds = frozenset(offsets)
            if len(self._recent) >= _RECENT:
                self._recent.clear()
            self._recent[window] = bounds
        return bounds


def _read_cache(path: Path) -> tuple[dict[str, int], int] | None:
    """jieba's FREQ and total from a cache file; None when it is missing or not whole."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    start = len(_MAGIC) + _HEADER.size
    if not data.startswith(_MAGIC) or len(data) < start:
        return None
    total, count, size = _HEADER.unpack_from(data, len(_MAGIC))
    freqs = array("q")
    if len(data) != start + 8 * count + size or freqs.itemsize != 8:
        return None
    freqs.frombytes(data[start : start + 8 * count])
    try:
        words = data[start + 8 * count :].decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    if len(words) != count:
        return None
    return dict(zip(words, freqs.tolist(), strict=True)), total


def _write_cache(path: Path, freq: dict[str, int], total: int) -> None:
    """Keep the dictionary for the next process; a cache that cannot be written only costs time."""
    if any("\n" in word for word in freq):  # cannot be stored one per line (no dictionary word has one)
        return
    words = "\n".join(freq).encode("utf-8")
    body = _MAGIC + _HEADER.pack(total, len(freq), len(words)) + array("q", freq.values()).tobytes() + words
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)  # whole or not at all, even with several processes writing it
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logging.getLogger(__name__).debug("jieba dictionary not cached in %s: %s", path, exc)
