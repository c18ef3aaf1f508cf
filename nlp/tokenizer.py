"""A private jieba tokenizer holding gridbot's user dictionary.

A `jieba.Tokenizer` instance (not the module-level default) keeps our words out of any other
jieba user in the process. It is built lazily: loading jieba's main dictionary costs about a
second, and the classifier only needs tokens for `whole_word` keywords. jieba itself is imported on first
use too (its HMM tables alone take tens of milliseconds to import): `echo x | gridbot classify` never
needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

    import jieba

_RECENT = 4096  # pieces of text whose token boundaries are remembered (the same few recur)
WINDOW = 6  # characters segmented on each side of a whole-word keyword


class Tokenizer:
    """Segment text with jieba plus a user dictionary and extra words (compound names, keywords)."""

    def __init__(self, userdict: Path | None = None, extra_words: Iterable[str] = ()) -> None:
        self._userdict = userdict
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
        tok.initialize()
        if self._userdict is not None:
            # Pass an open file: given a path, jieba opens it and never closes it (ResourceWarning).
            with self._userdict.open("rb") as fh:
                tok.load_userdict(fh)
        for word in self._extra_words:
            tok.add_word(word)
        return tok

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
