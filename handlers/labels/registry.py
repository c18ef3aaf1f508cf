"""What the learning loop answers: the 改类别 buttons on a handler's order card."""

from __future__ import annotations

from handlers.features import Feature
from handlers.labels import correction
from handlers.verbs import Verb

FEATURE = Feature(
    name="labels",
    buttons={
        Verb.RECATEGORISE_MENU: correction.on_menu,  # 改类别: which category is it really?
        Verb.RECATEGORISE_TO: correction.on_choose,  # this one: change it, keep the labelled example
    },
)
