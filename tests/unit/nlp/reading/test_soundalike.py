"""Sound-alike tolerance for voice-to-text and pinyin typing, and its guards against false hits."""

from __future__ import annotations

from nlp import EmergencyLevel, RuleClassifier
from nlp.soundalike import PinyinWords, SoundAlike, initials, loosen, sound, split_syllables


def test_sound_is_toneless_pinyin_per_character() -> None:
    assert sound("点梯") == sound("电梯") == sound("电题")
    assert sound("下睡道") == sound("下水道")
    assert sound("电梯") != sound("电视")
    assert sound("abc 12") == "abc 12"  # only Han characters have a sound


def test_loose_sounds_merge_what_accents_merge() -> None:
    assert loosen("xing") == "xin"
    assert loosen("zhang") == "zan"
    assert sound("新泰", loose=True) == sound("兴泰", loose=True)
    assert sound("新泰") != sound("兴泰")


def test_initials() -> None:
    assert initials("森源") == "sy"
    assert initials("南通新区") == "ntxq"
    assert initials("A栋") == ""


def test_corrects_a_known_word_heard_wrong() -> None:
    heard = SoundAlike(["电梯", "下水道"])
    assert heard.correct("点梯坏了") == ("电梯坏了", ((0, 2),))
    assert heard.correct("厨房下睡道返臭") == ("厨房下水道返臭", ((2, 5),))


def test_exact_words_are_left_alone() -> None:
    heard = SoundAlike(["电梯"])
    assert heard.correct("电梯坏了") == ("电梯坏了", ())


def test_nothing_in_common_is_no_correction() -> None:
    # 留学 sounds like 流血 but shares no character: a real word, not a mishearing.
    assert SoundAlike(["流血"]).correct("孩子出国留学") == ("孩子出国留学", ())


def test_two_syllables_never_replace_a_function_character() -> None:
    heard = SoundAlike(["煤气", "煤气味"], protected="没")
    assert heard.correct("家里没气了") == ("家里没气了", ())  # no gas left, not a gas leak
    assert heard.correct("闻到没气味") == ("闻到煤气味", ((2, 5),))  # three syllables: specific enough


def test_localisers_are_never_replaced() -> None:
    assert SoundAlike(["欠工资"], fixed="前").correct("年前工资发了吗") == ("年前工资发了吗", ())


def test_the_closest_word_wins_and_a_tie_corrects_to_none() -> None:
    assert SoundAlike(["煤气味", "煤汽味"]).correct("没气味")[0] == "煤气味"  # two shared characters
    assert SoundAlike(["电梯", "垫梯"]).correct("点梯")[0] == "点梯"  # both share one: no guess


def test_a_keyword_written_exactly_is_not_cut_through() -> None:
    heard = SoundAlike(["车位"], known=["违停"])
    assert heard.correct("门口车违停") == ("门口车违停", ())


def test_sound_alike_evidence_is_only_a_possible_emergency(classifier: RuleClassifier) -> None:
    heard = classifier.classify("楼道里冒眼了")  # voice input for 冒烟
    assert heard.category.value == "emergency"
    assert heard.emergency_level is EmergencyLevel.POSSIBLE
    written = classifier.classify("楼道里冒烟了")
    assert written.emergency_level is EmergencyLevel.CERTAIN


def test_a_run_of_letters_splits_into_the_fewest_pinyin_syllables() -> None:
    assert split_syllables("ranqi") == ("ran", "qi")
    assert split_syllables("xian") == ("xian",)  # not xi + an
    assert split_syllables("wifi") is None  # not pinyin: never rewritten
    assert split_syllables("hello") is None


def test_whole_words_typed_in_pinyin_become_the_words_they_spell() -> None:
    spell = PinyinWords(["着火", "求救", "燃气", "困人", "电梯"])
    assert spell("zhao huo le") == "着火 le"  # any reading of 着 counts
    assert spell("zhe huo le kuai lai") == "着火 le kuai lai"
    assert spell("qiu jiu! ranqi xie lou") == "求救! 燃气 xie lou"
    assert spell("dianti kun ren le") == "电梯困人 le"


def test_pinyin_is_left_alone_when_it_spells_nothing_known_or_is_not_pinyin() -> None:
    spell = PinyinWords(["着火", "微信"])
    assert spell("ni hao") == "ni hao"
    assert spell("wifi zhao huo") == "wifi zhao huo"  # a run holding English is not pinyin
    assert spell("zhao") == "zhao"  # one syllable spells no word
    assert spell("app 着火") == "app 着火"


def test_the_spelling_table_is_built_only_for_two_syllables_of_pinyin() -> None:
    # Building it takes a tenth of a second: `echo x | gridbot classify` and messages holding only
    # English or one syllable must not pay for it.
    spell = PinyinWords(["着火"])
    assert spell("x wifi ok zhao 1") == "x wifi ok zhao 1"
    assert spell._by_spelling is None
    assert spell("zhao huo") == "着火"
    assert spell._by_spelling is not None


def test_a_shared_spelling_goes_to_the_word_listed_first() -> None:
    assert PinyinWords(["着火", "找活"])("zhao huo le") == "着火 le"
    assert PinyinWords(["找活", "着火"])("zhao huo le") == "找活 le"


def test_the_classifier_reads_an_emergency_typed_in_pinyin(classifier: RuleClassifier) -> None:
    result = classifier.classify("qiu jiu! dianti kun ren le 兴泰3号楼")
    assert result.emergency_level is not EmergencyLevel.NONE
    assert result.location.compound == "兴泰小区"
