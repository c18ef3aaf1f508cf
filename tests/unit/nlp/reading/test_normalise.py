"""The chat normaliser: what residents type becomes the plain simplified text the rules are written in."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest

from nlp import Category, RuleClassifier, RulesError
from nlp.normalise import _LETTERS, _TIDY, _nfkc, load_chat_table, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("樓梯間著火了", "楼梯间着火了"),  # traditional, with Taiwan usage (著火) made simplified
        ("１２号楼ＡＢ", "12号楼ab"),  # full-width digits and letters from phone keyboards
        ("🔥🔥楼梯口", "火 楼梯口"),  # evidence emoji become words, a run of them counts once
        ("🆘 老人摔了", "求救 老人摔了"),
        ("路灯不亮😭🙏", "路灯不亮"),  # other emoji are dropped
        ("@网格员 路灯不亮", "路灯不亮"),  # a mention is not part of the report
        ("@物业\u2005车库门卡住", "车库门卡住"),  # WeChat ends a mention with a quarter-em space
        ("@物业车库门卡住了进不去", "物业车库门卡住了进不去"),  # no end in sight: only the @ goes
        ("【通知】停水！！！", "通知 停水!"),  # tags and repeated punctuation
        ("dt又坏了 wy呢", "电梯又坏了 物业呢"),  # pinyin initials from the chat table
        ("下载app连wifi", "下载app连wifi"),  # letters that are no abbreviation stay
        ("五叶费多少", "物业费多少"),  # a voice-input mishearing sharing no character
        ("八栋幺零三", "八栋103"),  # 幺 is only ever a spoken digit
        ("打幺幺零", "打110"),
        ("七杠二杠三零五", "七-二-三零五"),  # 杠 read aloud between numbers is a dash
        ("普通的一句话", "普通的一句话"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_simplified_text_is_never_phrase_converted() -> None:
    # tw2sp would rewrite Taiwan phrasing; text that is already simplified must not be touched.
    assert normalise("影片很好看") == "影片很好看"


def test_normalise_is_idempotent_on_its_own_output() -> None:
    for raw in ["樓道著火 🔥 @全体成员 wy快来！！", "七杠二杠三零五 幺零二", "【求助】dt困人"]:
        once = normalise(raw)
        assert normalise(once) == once


def test_bad_chat_table_names_the_section(tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text("abbreviations: [wy, dt]\n", encoding="utf-8")
    with pytest.raises(RulesError, match="abbreviations"):
        load_chat_table(path)


def test_a_lone_surrogate_is_replaced_not_raised(classifier: RuleClassifier) -> None:
    # Only the Python API can pass one (stdin decoding replaces bad bytes); it must not crash OpenCC.
    result = classifier.classify("兴泰5号楼着火了\ud800")
    assert result.category is Category.EMERGENCY


# The fast paths stand for simpler forms (see nlp/normalise.py); on every string of a small alphabet
# holding what each one treats specially they must answer as those forms do.
_ODD = "ab z!?,.~。…、;:【】[]「\t\n\u3000\u00a0，！？ＡＢ１a\u0301é电Ｘ"


def _strings(count: int) -> list[str]:
    rnd = random.Random(7)
    return ["".join(rnd.choice(_ODD) for _ in range(rnd.randint(0, 10))) for _ in range(count)]


def test_nfkc_fast_path_is_nfkc() -> None:
    for text in [*_strings(20_000), "你好，在吗？！", "Ａ\u0301，", "，\u0301"]:
        assert _nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)


def test_tidy_and_letters_patterns_match_their_plain_forms() -> None:
    tidy = re.compile(r"[【】〔〕\[\]「」『』〖〗]|[!?,.~。…、;:]{2}|\s\s|[^\S ]")
    letters = re.compile(r"(?<![a-z])[a-z]{2,6}(?![a-z])")
    for text in [*_strings(20_000), "abcdefg hi", "a.b", "x"]:
        assert bool(_TIDY.search(text)) == bool(tidy.search(text)), repr(text)
        assert [m.span() for m in _LETTERS.finditer(text)] == [m.span() for m in letters.finditer(text)]
