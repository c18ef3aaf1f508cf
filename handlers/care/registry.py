"""What the care feature answers: the daily check-in and the vulnerable-resident ledger (台账)."""

from __future__ import annotations

from handlers.care import checkin, ledger
from handlers.features import Feature
from handlers.verbs import Verb

FEATURE = Feature(
    name="care",
    buttons={
        Verb.CHECKIN_ANSWER: checkin.on_answer,
        Verb.CHECKIN_CONFIRM: checkin.on_member_confirm,
        Verb.LEDGER_CONSENT: ledger.on_consent,
    },
    commands={
        "checkin": checkin.toggle,
        "ledger": ledger.show,
        "ledger_add": ledger.add,
        "ledger_remove": ledger.remove,
    },
)
