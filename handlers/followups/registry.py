"""What the 回访 feature answers: the staff's list, its pages, and recording a phone follow-up."""

from __future__ import annotations

from handlers.features import Feature
from handlers.followups import calls
from handlers.verbs import Verb

FEATURE = Feature(
    name="followups",
    buttons={
        Verb.FOLLOWUP: calls.on_followup,
        Verb.FOLLOWUP_PAGE: calls.on_page,
    },
    commands={
        "huifang": calls.followup_list,
        "followups": calls.followup_list,
    },
    steps={calls.STEP_NOTE: calls.on_note},
)
