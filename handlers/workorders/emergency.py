"""The first words an emergency reporter reads: which number to call and what to do right now."""

from __future__ import annotations

from handlers.workorders import texts

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
