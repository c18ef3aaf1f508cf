"""The tokenizer's dictionary cache: a second process gets jieba's exact dictionary without building it."""

from __future__ import annotations

import random
from pathlib import Path

import jieba
import pytest

from nlp.classifier import DEFAULT_USERDICT
from nlp.tokenizer import Tokenizer

WORDS = ["森源华府", "滨河花园", "下水道堵", "电梯关人"]
TEXTS = ["森源华府3栋电梯关人了快来", "滨河花园的下水道堵了好几天", "手工作坊里冒烟了", "Wi-Fi坏了 100%"]


def test_a_cached_dictionary_is_jiebas_own_and_skips_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path)
    built.warm_up()
    assert len(list(tmp_path.glob("jieba-*.bin"))) == 1

    def no_build(self: jieba.Tokenizer, dictionary: str | None = None) -> None:
        raise AssertionError("the cached dictionary should have been used")

    monkeypatch.setattr(jieba.Tokenizer, "initialize", no_build)
    cached = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path)
    cached.warm_up()
    for text in TEXTS:
        assert cached.cut(text) == built.cut(text)
        assert cached.cut(text, hmm=False) == built.cut(text, hmm=False)
        assert cached.cut_all(text) == built.cut_all(text)
    assert cached._jieba is not None
    assert built._jieba is not None
    assert cached._dictionary is not None
    assert cached._dictionary.everything() == built._jieba.FREQ
    assert cached._jieba.total == built._jieba.total


def test_the_cache_is_read_a_group_at_a_time_and_cuts_as_the_whole_dictionary(tmp_path: Path) -> None:
    # Texts made of dictionary words glued together, with their characters shuffled across words: jieba
    # then weighs many overlapping candidates, each of which must be answered as the whole dictionary would.
    built = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path)
    built.warm_up()
    assert built._jieba is not None
    rng = random.Random(5)
    words = [w for w in built._jieba.FREQ if built._jieba.FREQ[w] and 1 < len(w) < 5]
    texts = []
    for _ in range(300):
        glued = "".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        chars = list(glued)
        for _ in range(rng.randint(0, 3)):
            i, j = rng.randrange(len(chars)), rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        texts.append("".join(chars))
    cached = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path)
    cached.cut("森源华府3栋")
    assert cached._jieba is not None
    assert 0 < len(cached._jieba.FREQ) < 20_000  # only the groups of those characters
    for text in texts:
        assert cached.cut(text, hmm=False) == built.cut(text, hmm=False), text
        assert cached.cut(text) == built.cut(text), text
        assert cached.cut_all(text) == built.cut_all(text), text
        assert cached.has_token(text, text[1:3]) == built.has_token(text, text[1:3]), text


def test_other_words_get_their_own_dictionary(tmp_path: Path) -> None:
    Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path).warm_up()
    other = Tokenizer(DEFAULT_USERDICT, ["兴泰小区"], cache_dir=tmp_path)
    assert "兴泰小区" in other.cut("兴泰小区3栋")
    assert len(list(tmp_path.glob("jieba-*.bin"))) == 2


@pytest.mark.parametrize("damage", ["cut short", "a byte changed"])
def test_a_damaged_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path).warm_up()
    (cache,) = tmp_path.glob("jieba-*.bin")
    data = bytearray(cache.read_bytes())
    if damage == "cut short":
        del data[-10:]
    else:
        data[len(data) // 2] ^= 0x20
    cache.write_bytes(bytes(data))
    again = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path)
    assert "森源华府" in again.cut("森源华府3栋")
    assert again._jieba is not None
    assert len(again._jieba.FREQ) > 300_000


def test_an_unwritable_cache_folder_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    tokenizer = Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=blocked / "cache")
    assert "森源华府" in tokenizer.cut("森源华府3栋")


def test_the_cache_goes_where_gridbot_cache_dir_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_CACHE_DIR", str(tmp_path / "here"))
    Tokenizer(DEFAULT_USERDICT, WORDS).warm_up()
    assert len(list((tmp_path / "here").glob("jieba-*.bin"))) == 1
