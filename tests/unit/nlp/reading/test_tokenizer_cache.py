"""The tokenizer's dictionary cache: a second process gets jieba's exact dictionary without building it."""

from __future__ import annotations

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
    assert cached._jieba is not None
    assert built._jieba is not None
    assert cached._jieba.FREQ == built._jieba.FREQ
    assert cached._jieba.total == built._jieba.total
    for text in TEXTS:
        assert cached.cut(text) == built.cut(text)
        assert cached.cut(text, hmm=False) == built.cut(text, hmm=False)
        assert cached.cut_all(text) == built.cut_all(text)


def test_other_words_get_their_own_dictionary(tmp_path: Path) -> None:
    Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path).warm_up()
    other = Tokenizer(DEFAULT_USERDICT, ["兴泰小区"], cache_dir=tmp_path)
    assert "兴泰小区" in other.cut("兴泰小区3栋")
    assert len(list(tmp_path.glob("jieba-*.bin"))) == 2


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    Tokenizer(DEFAULT_USERDICT, WORDS, cache_dir=tmp_path).warm_up()
    (cache,) = tmp_path.glob("jieba-*.bin")
    cache.write_bytes(cache.read_bytes()[:-10])
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
