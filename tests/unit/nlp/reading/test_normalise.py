"""The chat normaliser: what residents type becomes the plain simplified text the rules are written in."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import Category, RuleClassifier, RulesError
from nlp.normalise import load_chat_table, normalise


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
