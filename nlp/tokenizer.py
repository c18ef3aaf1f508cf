"""A private jieba tokenizer holding gridbot's user dictionary.

A `jieba.Tokenizer` instance (not the module-level default) keeps our words out of any other
jieba user in the process. It is built lazily: the classifier only needs tokens for `whole_word`
keywords. jieba itself is imported on first use too (its HMM tables alone take tens of milliseconds to
import): `echo x | gridbot classify` never needs it.

Building the dictionary the way jieba does costs most of a second (its cache file is read back by
`marshal.load` from a file object, one small read per entry, ~0.7 s; then every user word is added with a
suggested frequency), so the finished dictionary, user words included, is kept in a cache file of our
own, its words grouped by first character and read back a group at a time as texts need them
(`Dictionary`): the whole of it as Python objects costs ~0.25 s, the groups a process needs far less.
The file's name is a digest of everything the dictionary is built from (jieba's version and dictionary
file, the user dictionary, the extra words), so a change to any of them builds and caches a new one; the
tokens are jieba's own, cut by jieba's code from the same dictionary.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
import threading
import zlib
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

    import jieba

_RECENT = 4096  # pieces of text whose token boundaries are remembered (the same few recur)
WINDOW = 6  # characters segmented on each side of a whole-word keyword
_MAGIC = b"gridbot-jieba-2\n"
# jieba's total, entries, groups, bytes of the groups' first characters, bytes of words, CRC-32 of the rest
_HEADER = struct.Struct("<QQQQQQ")
_BODY = len(_MAGIC) + _HEADER.size


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
        self._dictionary: Dictionary | None = None  # read from the cache, a group at a time
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
        cached = Dictionary.read(cache)
        if cached is not None:
            self._dictionary = cached
            tok.FREQ, tok.total = cached.freq, cached.total  # filled by `_ready` before each cut
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

        h = hashlib.sha256(_MAGIC)  # another version's file has another name: versions never fight over one
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

    def _ready(self, text: str) -> jieba.Tokenizer:
        """jieba, with every dictionary word it may look up while cutting `text` loaded."""
        if self._jieba is None:
            self._jieba = self._build()
        if self._dictionary is not None:
            self._dictionary.cover(text)
        return self._jieba

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        """Return the tokens of `text` (HMM on by default, as jieba.lcut does; off: dictionary words only)."""
        return self._ready(text).lcut(text, HMM=hmm)

    def cut_all(self, text: str) -> list[str]:
        """Every dictionary word of `text`, overlapping ones included (jieba's full mode).

        The learned model's word features (nlp/learned) come from this: its Han words are exactly the
        dictionary words occurring in the text, which the model can then count without segmenting.
        """
        return self._ready(text).lcut(text, cut_all=True)

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
            at, offsets = 0, [0]
            for token in self._ready(window).lcut(window, HMM=False):
                at += len(token)
                offsets.append(at)
            bounds = frozenset(offsets)
            if len(self._recent) >= _RECENT:
                self._recent.clear()
            self._recent[window] = bounds
        return bounds


class Dictionary:
    """jieba's finished dictionary read back from our cache file a group of words at a time.

    The file keeps the words grouped by their first character. jieba looks up only pieces of the text it
    segments (every FREQ access in its cutting code is a slice of the sentence), so each word it can ask
    about starts with one of the text's characters: with those characters' groups loaded, `freq` answers
    exactly as the whole dictionary would. Making the whole dictionary (half a million strings) costs
    ~0.25 s, more than all the segmenting `gridbot classify` does in 20,000 messages (it segments only a
    few short windows around whole-word keywords); a group costs microseconds.
    """

    def __init__(
        self,
        data: bytes,
        total: int,
        freqs: memoryview,
        entries: array[int],
        offsets: array[int],
        words_at: int,
    ) -> None:
        self.total = total
        self.freq: dict[str, int] = {}  # what jieba sees as FREQ: the groups loaded so far
        self._data = data
        self._freqs = freqs
        self._entries = entries  # group g: entries[g] .. entries[g + 1]
        self._offsets = offsets  # group g: its words' bytes, offsets[g] .. offsets[g + 1]
        self._words_at = words_at  # where the words begin in `data`
        self._pending: dict[str, int] = {}  # first character -> its group, until the group is loaded
        self._lock = threading.Lock()  # the bot may classify in more than one thread

    @classmethod
    def read(cls, path: Path) -> Dictionary | None:
        """The dictionary in `path`; None when the file is missing, of another version or not whole."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(_MAGIC) or len(data) < _BODY:
            return None
        total, count, groups, heads_size, words_size, checksum = _HEADER.unpack_from(data, len(_MAGIC))
        sizes = 8 * count + 16 * (groups + 1) + heads_size + words_size
        if len(data) != _BODY + sizes or zlib.crc32(memoryview(data)[_BODY:]) != checksum:
            return None
        at = _BODY
        freqs = memoryview(data)[at : at + 8 * count].cast("q")
        at += 8 * count
        entries, offsets = array("q"), array("q")
        if entries.itemsize != 8:
            return None
        entries.frombytes(data[at : at + 8 * (groups + 1)])
        offsets.frombytes(data[at + 8 * (groups + 1) : at + 16 * (groups + 1)])
        at += 16 * (groups + 1)
        try:
            heads = data[at : at + heads_size].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if len(heads) != groups:
            return None
        found = cls(data, total, freqs, entries, offsets, at + heads_size)
        found._pending = {head: g for g, head in enumerate(heads)}
        return found

    def cover(self, text: str) -> None:
        """Load the groups of `text`'s characters: jieba can then cut `text` as with the whole dictionary."""
        pending = self._pending
        if not pending or not any(ch in pending for ch in text):
            return
        with self._lock:
            for ch in set(text):
                g = pending.get(ch)
                if g is not None:
                    self._load(g)
                    del pending[ch]  # only once its words are in (another thread may be reading)

    def everything(self) -> dict[str, int]:
        """The whole dictionary (every group loaded)."""
        self.cover("".join(self._pending))
        return self.freq

    def _load(self, g: int) -> None:
        at = self._words_at
        words = self._data[at + self._offsets[g] : at + self._offsets[g + 1]].decode("utf-8")
        self.freq.update(
            zip(words.split("\n"), self._freqs[self._entries[g] : self._entries[g + 1]].tolist(), strict=True)
        )


def _write_cache(path: Path, freq: dict[str, int], total: int) -> None:
    """Keep the dictionary for the next process, grouped by first character (`Dictionary`); a cache that
    cannot be written only costs time."""
    if "" in freq or any("\n" in word for word in freq):  # no dictionary word is empty or has one
        return
    groups: dict[str, list[str]] = {}
    for word in freq:
        groups.setdefault(word[0], []).append(word)
    entries, offsets, freqs, blocks = array("q", [0]), array("q", [0]), array("q"), []
    for words in groups.values():
        block = "\n".join(words).encode("utf-8")
        blocks.append(block)
        freqs.extend(freq[w] for w in words)
        entries.append(entries[-1] + len(words))
        offsets.append(offsets[-1] + len(block))
    heads = "".join(groups).encode("utf-8")
    text = b"".join(blocks)
    rest = freqs.tobytes() + entries.tobytes() + offsets.tobytes() + heads + text
    header = _HEADER.pack(total, len(freqs), len(groups), len(heads), len(text), zlib.crc32(rest))
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + header + rest)
            os.replace(tmp, path)  # whole or not at all, even with several processes writing it
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        logging.getLogger(__name__).debug("jieba dictionary not cached in %s: %s", path, exc)
