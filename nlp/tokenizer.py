"""A private jieba tokenizer holding gridbot's user dictionary.

A `jieba.Tokenizer` instance (not the module-level default) keeps our words out of any other
jieba user in the process. It is built lazily: loading jieba's main dictionary costs about a
second, and the classifier only needs tokens for `whole_word` keywords.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import jieba

# The block splitter jieba.Tokenizer.cut uses (accurate mode): the same compiled pattern object.
_BLOCKS = jieba.re_han_default


class Tokenizer:
    """Segment text with jieba plus a user dictionary and extra words (compound names, keywords)."""

    def __init__(self, userdict: Path | None = None, extra_words: Iterable[str] = ()) -> None:
        self._userdict = userdict
        self._extra_words = tuple(dict.fromkeys(w for w in extra_words if w))
        self._jieba: jieba.Tokenizer | None = None

    @property
    def words(self) -> tuple[str, ...]:
        """Extra words kept whole (besides the user dictionary file)."""
        return self._extra_words

    def _build(self) -> jieba.Tokenizer:
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

    def cut(self, text: str) -> list[str]:
        """Return the tokens of `text` (HMM on, as jieba.lcut does by default)."""
        if self._jieba is None:
            self._jieba = self._build()
        return self._jieba.lcut(text)

    def has_token(self, text: str, word: str) -> bool:
        """Whether `word` is one of `cut(text)`'s tokens, segmenting only the blocks that contain it.

        jieba first splits the text into blocks with a fixed regex and segments each block on its own,
        so a token never spans blocks and the tokens of a block do not depend on the rest of the text.
        """
        if word not in text:
            return False
        if self._jieba is None:
            self._jieba = self._build()
        cut = self._jieba.lcut
        return any(word in cut(block) for block in _BLOCKS.split(text) if word in block)
