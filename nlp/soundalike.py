"""Sound-alike tolerance: voice-to-text and pinyin typing write the right sound with the wrong character.

点梯 / 电题 for 电梯, 着活 for 着火, 下睡道 for 下水道, 森园 for 森源. Every Han character is mapped to one
private-use character per toneless syllable (its most common reading, from pypinyin's table), so a
whole text is turned into its "sound" with one `str.translate`, and known words are looked for in it where
their first two sounds occur. Guards against false hits: only words of two or more syllables,
at least one character must be the same as in the word, an exact occurrence of a known word always
wins, a two-syllable word never replaces a function character (没气 is "no gas", not 煤气), and a
sound shared by several known words corrects to the one sharing most characters, or to none on a tie.
"""

from __future__ import annotations

import importlib.util
import json
import operator
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

_PUA = 0xE000  # syllable ids become private-use characters, which never occur in a message
_HAN = range(0x3400, 0xA000)  # CJK extension A and the unified block
# Loose matching (for compound names): the sounds southern speakers and voice input merge.
_LOOSE_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_LOOSE_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))


@cache
def _raw_readings() -> dict[str, str]:
    """pypinyin's character table: code point (as text) -> comma-separated readings, commonest first.

    Read from the package's JSON data file without importing the package: `import pypinyin` loads its
    phrase dictionary and segmenter (about 0.2 s) that we do not need; the table alone takes 20 ms.
    """
    spec = importlib.util.find_spec("pypinyin")
    locations = spec.submodule_search_locations if spec is not None else None
    if locations:
        path = Path(next(iter(locations))) / "pinyin_dict.json"
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                data: dict[str, str] = json.load(fh)
            return data
    # A future layout of the package: fall back to its public module (slower to import).
    from pypinyin.pinyin_dict import pinyin_dict

    return {str(code): readings for code, readings in pinyin_dict.items()}


@cache  # the table's 42,000 characters share about 1,500 distinct readings
def toneless(reading: str) -> str:
    """ "zhāo" -> "zhao", "lǜ" -> "lv" (as pinyin input methods write ü)."""
    decomposed = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def loosen(syllable: str) -> str:
    """Merge the sounds that are commonly confused: zh/z, ch/c, sh/s, -ing/-in, -eng/-en, -ang/-an."""
    for a, b in _LOOSE_INITIALS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a) :]
            break
    for a, b in _LOOSE_FINALS:
        if syllable.endswith(a):
            return syllable[: -len(a)] + b
    return syllable


class _SoundTable(dict[int, str]):
    """str.translate table filled on demand: a Han character -> the private-use char of its sound."""

    def __init__(self, loose: bool) -> None:
        super().__init__()
        self._loose = loose
        self._ids: dict[str, str] = {}

    def __missing__(self, code: int) -> str:
        sound = chr(code)
        if code in _HAN:
            readings = _raw_readings().get(str(code))
            if readings:
                syllable = toneless(readings.split(",", 1)[0])
                if self._loose:
                    syllable = loosen(syllable)
                sound = self._ids.setdefault(syllable, chr(_PUA + len(self._ids)))
        self[code] = sound
        return sound


@cache
def sound_table(loose: bool = False) -> _SoundTable:
    """The process-wide table (characters' sounds never change)."""
    return _SoundTable(loose)


def sound(text: str, loose: bool = False) -> str:
    """`text` with every Han character replaced by its sound; other characters are kept."""
    return text.translate(sound_table(loose))


def initials(word: str) -> str:
    """Pinyin initials as chat writes them: 森源 -> "sy", 南通新区 -> "ntxq" ("" if not all Han)."""
    letters = []
    for ch in word:
        readings = _raw_readings().get(str(ord(ch))) if ord(ch) in _HAN else None
        if not readings:
            return ""
        letters.append(toneless(readings.split(",", 1)[0])[:1])
    return "".join(letters)


def is_han(text: str) -> bool:
    return bool(text) and all(ord(ch) in _HAN for ch in text)


class SoundAlike:
    """Rewrite spans that sound like a known word into that word.

    Args:
        words: the words to match by sound (keywords and domain words); those shorter than two
            characters or with a non-Han character are ignored.
        protected: function characters a two-syllable correction must never replace.
        fixed: characters no correction ever replaces (localisers: 春节前工资 is not 欠工资).
        known: every keyword; a correction must not cut through one written exactly (车违停 keeps
            违停 rather than becoming 车位停).
    """

    def __init__(
        self,
        words: Iterable[str],
        protected: Iterable[str] = (),
        fixed: Iterable[str] = (),
        known: Iterable[str] = (),
    ) -> None:
        self._words = frozenset(w for w in words if len(w) >= 2 and is_han(w))
        self._protected = frozenset(protected)
        self._fixed = frozenset(fixed)
        self._known = frozenset(w for w in known if len(w) >= 2) | self._words
        self._longest = max(map(len, self._known), default=0)
        self._by_sound: dict[str, list[str]] | None = None
        # The first two sounds of every word -> the sounds of the words opening so, longest first.
        self._openings: dict[str, tuple[str, ...]] = {}

    @classmethod
    def for_keywords(
        cls, literals: Iterable[str], domain_words: Iterable[str], protected: str, fixed: str
    ) -> SoundAlike:
        """Every keyword of three or more characters, plus the two-character domain words the chat
        table names: shorter keywords sound like too many ordinary words (骗子 ~ 片子)."""
        literals = tuple(literals)
        return cls([*(w for w in literals if len(w) >= 3), *domain_words], protected, fixed, literals)

    @property
    def words(self) -> frozenset[str]:
        return self._words

    def warm_up(self) -> None:
        """Build the sound tables now: the first message would read pypinyin's table (0.15-0.3 s measured
        in a busy bot) while everything else the process does waits."""
        if self._by_sound is None:
            self._build()

    def _build(self) -> dict[str, tuple[str, ...]]:
        by_sound: dict[str, list[str]] = {}
        for word in sorted(self._words):
            by_sound.setdefault(sound(word), []).append(word)
        self._by_sound = by_sound
        openings: dict[str, list[str]] = {}
        for key in sorted(by_sound, key=len, reverse=True):
            openings.setdefault(key[:2], []).append(key)
        self._openings = {piece: tuple(keys) for piece, keys in openings.items()}
        return self._openings

    def correct(self, text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
        """Return the corrected text (same length) and the (start, end) spans that were rewritten."""
        if not self._words or text.isascii():
            return text, ()
        openings = self._openings if self._by_sound is not None else self._build()
        by_sound = self._by_sound
        assert by_sound is not None  # built together with the openings
        words = self._words
        heard = sound(text)
        found: list[tuple[int, int, str]] = []
        exact: list[tuple[int, int]] = []
        # Every two-sound piece of the text, in order (map joins neighbours in C): a message has a
        # few places where a word's opening is heard, mostly exact keywords, and only those are read.
        for start, piece in enumerate(map(operator.add, heard, heard[1:])):
            keys = openings.get(piece)
            if keys is None:
                continue
            for key in keys:
                if heard.startswith(key, start):
                    end = start + len(key)
                    span = text[start:end]
                    if span in words:
                        exact.append((start, end))
                    else:
                        target = self._closest(span, by_sound[key])
                        if target is not None:
                            found.append((start, end, target))
        if not found:
            return text, ()
        taken = list(exact)
        chosen: list[tuple[int, int, str]] = []
        for start, end, word in sorted(found, key=lambda f: (f[0] - f[1], f[0])):  # longest, then leftmost
            if all(end <= s or e <= start for s, e in taken) and not self._cuts_known(text, start, end):
                taken.append((start, end))
                chosen.append((start, end, word))
        if not chosen:
            return text, ()
        chosen.sort()
        parts: list[str] = []
        last = 0
        for start, end, word in chosen:
            parts.append(text[last:start])
            parts.append(word)
            last = end
        parts.append(text[last:])
        return "".join(parts), tuple((s, e) for s, e, _ in chosen)

    def _cuts_known(self, text: str, start: int, end: int) -> bool:
        """Whether a keyword written exactly overlaps [start, end) without lying inside it."""
        longest = self._longest
        for a in range(max(0, start - longest + 1), end):
            for b in range(max(a + 2, start + 1), min(len(text), a + longest) + 1):
                if (a < start or b > end) and text[a:b] in self._known:
                    return True
        return False

    def _closest(self, span: str, words: list[str]) -> str | None:
        """The one plausible word sharing most characters with `span`; None when none or a tie."""
        best: list[tuple[int, str]] = []
        for word in words:
            differ = [a for a, b in zip(span, word, strict=True) if a != b]
            if len(differ) == len(word):
                continue  # nothing in common: 留学 must not become 流血
            if any(ch in self._fixed for ch in differ):
                continue
            if len(word) == 2 and any(ch in self._protected for ch in differ):
                continue
            best.append((len(differ), word))
        best.sort()
        if not best or (len(best) > 1 and best[0][0] == best[1][0]):
            return None
        return best[0][1]


_LETTER_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")
_MAX_SPELLINGS = 16  # readings multiply: a word of rare polyphones keeps its first few spellings


@cache
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable a character is read as (about 400): what a typed word may split into."""
    readings = {r for options in _raw_readings().values() for r in options.split(",")}
    return frozenset(map(toneless, readings))  # each distinct reading once: a fifth of the time


def split_syllables(word: str) -> tuple[str, ...] | None:
    """A run of letters as the fewest pinyin syllables ("ranqi" -> ran, qi); None when it is not pinyin
    ("wifi", "hello"): English and brand names are never rewritten."""
    known = _syllables()
    best: list[tuple[str, ...] | None] = [()] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):  # "zhuang" is the longest syllable
            head = best[start]
            if head is not None and word[start:end] in known:
                candidate = (*head, word[start:end])
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


class PinyinWords:
    """Words typed in toneless pinyin ("qiu jiu", "zhao huo le", "ranqi") rewritten into the known word
    they spell (求救, 着火, 燃气), so the rules and the model read them as if typed in characters.

    Only whole runs of pinyin syllables are read (a run holding a word that is not pinyin is left
    alone), only words of two or more syllables are spelled, and the longest match wins. Every reading
    of a character counts (着火 is typed "zhao huo" as often as "zhe huo"); where several words share a
    spelling, the one given first wins: the classifier lists the most urgent categories' words first,
    because reading "zhao huo" as 着火 rather than 找活 costs a question, the other way round a fire.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self._source = tuple(words)
        self._by_spelling: dict[tuple[str, ...], str] | None = None
        self._longest = 0

    def _build(self) -> dict[tuple[str, ...], str]:
        table: dict[tuple[str, ...], str] = {}
        for word in dict.fromkeys(self._source):
            if len(word) < 2 or not is_han(word):
                continue
            readings = [_raw_readings().get(str(ord(ch))) for ch in word]
            if not all(readings):
                continue
            spellings: list[tuple[str, ...]] = [()]
            for options in readings:
                sounds = dict.fromkeys(toneless(r) for r in (options or "").split(","))
                spellings = [(*head, s) for head in spellings for s in sounds][:_MAX_SPELLINGS]
            for spelling in spellings:
                table.setdefault(spelling, word)
        self._longest = max(map(len, table), default=0)
        self._by_spelling = table
        return table

    def __call__(self, text: str) -> str:
        return _LETTER_RUN.sub(self._rewrite, text)  # one scan; most messages hold no letters at all

    def _rewrite(self, match: re.Match[str]) -> str:
        if len(match.group()) < 2:
            return match.group()  # one letter is never two syllables (nor needs the syllable table read)
        syllables: list[str] = []
        for word in match.group().split(" "):
            split = split_syllables(word)
            if split is None:
                return match.group()
            syllables.extend(split)
        if len(syllables) < 2:
            return match.group()
        # Built only now: most runs of letters ("ok", "wifi", the "x" of a test message) are not
        # two syllables of pinyin, and the table of spellings takes a tenth of a second to build.
        table = self._by_spelling if self._by_spelling is not None else self._build()
        out: list[tuple[bool, str]] = []  # (spelled a word, text)
        i = 0
        while i < len(syllables):
            for n in range(min(self._longest, len(syllables) - i), 1, -1):
                spelled_word = table.get(tuple(syllables[i : i + n]))
                if spelled_word is not None:
                    out.append((True, spelled_word))
                    i += n
                    break
            else:
                out.append((False, syllables[i]))
                i += 1
        if not any(spelled for spelled, _ in out):
            return match.group()
        # Words spelled next to each other join up (电梯困人); pinyin left over keeps its spaces.
        text = out[0][1]
        for (before, _), (spelled, part) in zip(out, out[1:], strict=False):
            text += part if before and spelled else " " + part
        return text
