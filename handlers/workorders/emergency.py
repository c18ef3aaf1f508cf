"""The first seconds of an emergency: how sure we are, and the first words the reporter reads.

Only decisions and words live here (no storage, no sending): opening.py acts on them.
"""

from __future__ import annotations

from enum import StrEnum

from handlers.workorders import texts
from nlp.types import Category, Classification, EmergencyLevel


class Alarm(StrEnum):
    """What a report sets off before anything else (and before consent: PIPL Art. 13(4))."""

    NONE = ""
    CERTAIN = "certain"  # advice, and everyone responsible alerted at once
    POSSIBLE = "possible"  # advice, the resident asked, only the grid member alerted until yes or silence
    FRAUD = "fraud"  # a fraud going on right now: 110 / 96110 advice, police liaison and staff at once

    @property
    def urgent(self) -> bool:
        return self is not Alarm.NONE


def alarm_for(result: Classification, text: str) -> Alarm:
    """The alarm a classified report sets off.

    The classifier's `emergency_level` decides (however the rules and the model set it). A classifier
    that names the emergency category without a level (an older one, or a stand-in) is taken at its
    word: certain. An emergency is never dropped here.
    """
    if result.emergency_level is EmergencyLevel.CERTAIN:
        return Alarm.CERTAIN
    if result.emergency_level is EmergencyLevel.POSSIBLE:
        return Alarm.POSSIBLE
    if result.category is Category.EMERGENCY:
        return Alarm.CERTAIN
    if result.category is Category.FRAUD and fraud_in_progress(text):
        return Alarm.FRAUD
    return Alarm.NONE


# A swindler at work right now: the money or the code is being asked for while the resident writes.
# "让我转账，是不是骗子" (asked once, now asking us) stays an ordinary fraud report for the police liaison.
_FRAUD_NOW = ("安全账户", "正在转账", "正在汇款", "屏幕共享", "共享屏幕", "电话还没挂", "还在通话")
_FRAUD_ASKED = ("让我", "要我", "叫我", "逼我", "催我", "让俺", "要俺")
_FRAUD_CODE = ("验证码", "屏幕", "下载")
_FRAUD_MONEY = ("转账", "汇款", "打钱", "付款")
_FRAUD_HURRY = ("马上", "立刻", "赶紧", "现在", "正在", "正让", "还在")


def fraud_in_progress(text: str) -> bool:
    """The fraud report describes money or a code being asked for now, not a fraud heard about."""
    if any(cue in text for cue in _FRAUD_NOW):
        return True
    if not any(cue in text for cue in _FRAUD_ASKED):
        return False
    if any(cue in text for cue in _FRAUD_CODE):
        return True
    return any(cue in text for cue in _FRAUD_MONEY) and any(cue in text for cue in _FRAUD_HURRY)


# Checked in this order; a message can match several (fire and someone injured).
_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fire", ("火", "烟", "烧")),
    ("gas", ("燃气", "煤气", "天然气", "漏气", "气味")),
    ("medical", ("晕", "倒", "伤", "血", "昏迷", "不省人事", "溺水", "困", "没反应", "没开门", "心脏")),
    ("police", ("打架", "打人", "刀", "偷", "抢", "砸", "闹事", "家暴", "威胁")),
)


def emergency_advice(text: str) -> str:
    """Advice for the kinds of emergency the text mentions, always ending with the three numbers."""
    parts = [texts.EMERGENCY_ADVICE[kind] for kind, cues in _CUES if any(c in text for c in cues)]
    parts.append(texts.EMERGENCY_GENERAL)
    return "\n".join(parts)


def advice_for(alarm: Alarm, text: str) -> str:
    """What the reporter reads first: which number to call and what to do right now."""
    return texts.FRAUD_ADVICE if alarm is Alarm.FRAUD else emergency_advice(text)


def next_best(result: Classification) -> Category:
    """The category a possible emergency becomes when the resident says it is not one."""
    alternatives = tuple(c for c, _ in result.model.alternatives) if result.model is not None else ()
    votes = (result.model.category,) if result.model is not None else ()
    for category in (result.category, *result.candidates, *votes, *alternatives):
        if category not in (Category.EMERGENCY, Category.UNKNOWN):
            return category
    return Category.OTHER


_YES = frozenset({"是", "是的", "是啊", "对", "对的", "有", "快来", "救命", "快来人", "是正在发生"})
_NO = frozenset({"不是", "不是的", "没有", "没事", "没", "否", "没有危险", "不危险"})
_TRIM = " 。！!，,.~～？?"


def check_answer(text: str) -> bool | None:
    """A typed answer to "是否正在发生危险": True (yes), False (no), None (something else)."""
    word = text.strip().strip(_TRIM)
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None
