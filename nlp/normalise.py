"""The one text normalisation every matcher in nlp/ applies, so rules and messages compare alike.

Residents write in chat: full-width digits, traditional characters, emoji, @mentions, 【】 tags, "！！！",
pinyin initials ("wy", "dt"), voice-to-text mishearings and spoken digits ("幺零二"). All of that is
rewritten once per message, before anything reads it, into the plain simplified text the rules are
written in. What to rewrite is data (nlp/data/chat.yaml); this module only knows the order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from nlp.errors import RulesError

DEFAULT_CHAT = Path(__file__).resolve().parent / "data" / "chat.yaml"

# Pictographs and their modifiers (variation selector, zero-width joiner, skin tones, keycaps).
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\u20e3]+")
# "@物业 " or "@全体成员": WeChat ends a mention with U+2005 (a quarter-em space, which NFKC turns into
# a plain one, so mentions go first). A short name before a plain space is a mention typed by hand;
# otherwise we cannot tell where the name stops and only the "@" goes.
_MENTION = re.compile("[@＠][^\\s@＠]{1,20}\u2005|[@＠][^\\s@＠]{1,5}(?=\\s|$)|[@＠]")
_BRACKETS = re.compile("[【】〔〕\\[\\]「」『』〖〗]")
# "！！！" / "???" / "。。。": one is enough (NFKC already made ！？， ASCII).
_PUNCT_RUN = re.compile(r"([!?,.~。…、;:])[!?,.~。…、;:]+")
_SPACES = re.compile(r"\s+")
# Anything the three tidy-up rewrites would change: a bracket, a run of punctuation, odd spaces
# ("[brackets]|[punct]{2}|\s\s|[^\S ]"). Written as one character class first and lookarounds after:
# a pattern opening with a class lets `re` skip to the next candidate character in C, where an
# alternation is tried at every position (half the time per message).
_TIDY = re.compile(
    r"[【】〔〕\[\]「」『』〖〗\s!?,.~。…、;:]"
    r"(?:(?<=[【】〔〕\[\]「」『』〖〗]|[^\S ])|(?<=[!?,.~。…、;:])[!?,.~。…、;:]|(?<=\s)\s)"
)
# A run of two to six letters: "(?<![a-z])[a-z]{2,6}(?![a-z])", opening with the class for the same
# reason (the lookbehind, moved after the first letter, asks that the letter before it is none).
_LETTERS = re.compile(r"[a-z](?<![a-z]{2})[a-z]{1,5}(?![a-z])")
# What chat needs NFKC for is nearly always a full-width comma, exclamation or question mark, and
# NFKC of a text is NFKC of it with those already made ASCII (NFKC decomposes each character on its
# own first): str.replace is some ten times cheaper than unicodedata.normalize on a text to change.
_FULL_WIDTH = (("，", ","), ("！", "!"), ("？", "?"))
_SPOKEN = "零〇一二三四五六七八九幺两"
# 幺 is only ever a spoken digit, so a run of digits containing it is a number ("幺零二" -> "102").
_YAO_RUN = re.compile(f"[{_SPOKEN}]*幺[{_SPOKEN}]*")
_SPOKEN_DIGIT = {ch: str(i) for i, ch in enumerate("零一二三四五六七八九")} | {
    "〇": "0",
    "幺": "1",
    "两": "2",
}
# "六杠一杠二零一": 杠 read aloud between numbers is the dash of "6-1-201".
_GANG = re.compile(f"(?<=[0-9{_SPOKEN}])杠(?=[0-9{_SPOKEN}])")


@dataclass(frozen=True)
class ChatTable:
    """The rewrites of nlp/data/chat.yaml (see the file for what each section means)."""

    emoji: Mapping[str, str]
    abbreviations: Mapping[str, str]
    voice: Mapping[str, str]
    sound_alike: tuple[str, ...] = ()
    protected: str = ""
    fixed: str = ""


class Normaliser:
    """Rewrite a message into the text the rules read. Safe for any string; costs microseconds."""

    def __init__(self, table: ChatTable) -> None:
        self.table = table
        self._emoji = {k: f" {v} " for k, v in table.emoji.items()}
        self._abbreviations = dict(table.abbreviations)
        self._voice = dict(table.voice)
        self._voice_rx = (
            re.compile("|".join(re.escape(k) for k in sorted(self._voice, key=len, reverse=True)))
            if self._voice
            else None
        )

    def __call__(self, text: str) -> str:
        if "@" in text or "＠" in text:
            text = _MENTION.sub(" ", text)
        # NFKC: full-width digits, letters, ＃ － ！ ？ become ASCII; then one case for letters.
        text = _nfkc(text).lower()
        if not text.isascii():
            text = _simplified(text)
            if _EMOJI.search(text):
                text = _EMOJI.sub(self._emoji_word, text)
            if "幺" in text:
                text = _YAO_RUN.sub(_spoken_digits, text)
            if "杠" in text:
                text = _GANG.sub("-", text)
            if self._voice_rx is not None and self._voice_rx.search(text):
                text = self._voice_rx.sub(lambda m: self._voice[m.group()], text)
        # Most messages need none of what follows: one search tells (each rewrite is a pass of its own).
        if _TIDY.search(text):
            text = _BRACKETS.sub(" ", text)
            text = _PUNCT_RUN.sub(r"\1", text)
            text = _SPACES.sub(" ", text)
        if self._abbreviations and _LETTERS.search(text):
            text = _LETTERS.sub(lambda m: self._abbreviations.get(m.group(), m.group()), text)
        return text.strip()

    def _emoji_word(self, match: re.Match[str]) -> str:
        # A run of the same pictograph ("🔥🔥🔥") is one piece of evidence, not three.
        words = dict.fromkeys(self._emoji.get(ch, "") for ch in match.group() if ch in self._emoji)
        return "".join(words) or " "


def _nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), cheaper for the texts chat writes (see _FULL_WIDTH)."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for wide, ascii_ in _FULL_WIDTH:
        text = text.replace(wide, ascii_)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _spoken_digits(match: re.Match[str]) -> str:
    return "".join(_SPOKEN_DIGIT[ch] for ch in match.group())


@cache
def _converter(config: str) -> Any:
    # Imported on first use: OpenCC's C++ library loads in a few milliseconds, but only texts with
    # non-ASCII characters need it. t2s tells whether a text is traditional at all; tw2sp then also
    # converts Taiwan phrasing (著火 -> 着火, 簡訊 -> 短信), which plain t2s leaves alone. Each is
    # built when first needed: a process that never sees a traditional text never loads tw2sp.
    import opencc

    return opencc.OpenCC(config)


def _simplified(text: str) -> str:
    detect = _converter("t2s")
    try:
        detected = detect.convert(text)
    except UnicodeEncodeError:  # a lone surrogate (only the Python API can pass one): replace, go on
        text = text.encode("utf-8", "replace").decode("utf-8")
        detected = detect.convert(text)
    if detected == text:
        return text  # already simplified: never let phrase conversion touch it
    return str(_converter("tw2sp").convert(text))


def load_chat_table(path: Path = DEFAULT_CHAT) -> ChatTable:
    """Read and validate a chat table file.

    Raises:
        RulesError: unreadable file, bad YAML or a section that is not a mapping of strings.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise RulesError(path, f"cannot read chat table ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise RulesError(path, f"invalid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise RulesError(path, "top level must be a mapping")
    sections = {}
    for name in ("emoji", "abbreviations", "voice"):
        raw = data.get(name) or {}
        if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in raw.items()
        ):
            raise RulesError(path, f"{name}: must map non-empty strings to non-empty strings")
        sections[name] = {unicodedata.normalize("NFKC", k).lower(): v for k, v in raw.items()}
    words = data.get("sound_alike") or []
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise RulesError(path, "sound_alike: must be a list of words")
    protected = data.get("protected") or ""
    fixed = data.get("fixed") or ""
    if not isinstance(protected, str) or not isinstance(fixed, str):
        raise RulesError(path, "protected, fixed: must be strings of characters")
    return ChatTable(
        emoji=sections["emoji"],
        abbreviations=sections["abbreviations"],
        voice=sections["voice"],
        sound_alike=tuple(words),
        protected=protected,
        fixed=fixed,
    )


# The C loader when PyYAML was built with libyaml: reading the rules is most of the start-up time.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def default_normaliser() -> Normaliser:
    """The normaliser of the shipped chat table, loaded on first use."""
    return Normaliser(load_chat_table())


def normalise(text: str) -> str:
    """Normalise one message (or keyword) with the shipped chat table."""
    return default_normaliser()(text)


def fold(text: str) -> str:
    """Only NFKC and lower case: for names and keywords that must keep every character."""
    return unicodedata.normalize("NFKC", text).lower()
