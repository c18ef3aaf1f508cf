"""What a feature hands the core: the buttons, slash commands and conversation steps it answers.

Each feature folder declares one `Feature` in its registry.py, next to its handlers (so "what happens when
a grid member presses 接单" is answered by opening handlers/workorders). core.py merges them; two features
claiming the same verb, command or step is an error at import, never a silent override.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from handlers.context import Context
from handlers.ports import Conversation
from handlers.verbs import Action, Verb

# A button press, with its arguments already parsed and bounded (handlers/verbs.py).
ButtonHandler = Callable[[Context, Action], Awaitable[None]]
# A slash command, with the text after it ("/stats 7" -> "7").
CommandHandler = Callable[[Context, str], Awaitable[None]]
# A text that continues a conversation step (a resolve note, a room number), with the stored step.
StepHandler = Callable[[Context, str, Conversation], Awaitable[None]]


@dataclass(frozen=True)
class Feature:
    name: str
    buttons: Mapping[Verb, ButtonHandler] = field(default_factory=dict)
    commands: Mapping[str, CommandHandler] = field(default_factory=dict)
    steps: Mapping[str, StepHandler] = field(default_factory=dict)


class DuplicateRegistration(Exception):
    """Two features registered the same verb, command or conversation step."""


@dataclass(frozen=True)
class Tables:
    """The merged registrations the core dispatches on."""

    buttons: Mapping[Verb, ButtonHandler]
    commands: Mapping[str, CommandHandler]
    steps: Mapping[str, StepHandler]
    owners: Mapping[str, str]  # "button ac" -> "workorders": who registered what


def merge(features: Iterable[Feature]) -> Tables:
    """One table of each kind; raises DuplicateRegistration when two features claim the same key."""
    buttons: dict[Verb, ButtonHandler] = {}
    commands: dict[str, CommandHandler] = {}
    steps: dict[str, StepHandler] = {}
    owners: dict[str, str] = {}

    def claim(kind: str, key: str, feature: Feature) -> None:
        label = f"{kind} {key}"
        if label in owners:
            raise DuplicateRegistration(f"{label} is registered by both {owners[label]} and {feature.name}")
        owners[label] = feature.name

    for feature in features:
        for verb, on_press in feature.buttons.items():
            claim("button", verb.value, feature)
            buttons[verb] = on_press
        for name, on_command in feature.commands.items():
            claim("command", name, feature)
            commands[name] = on_command
        for step, on_text in feature.steps.items():
            claim("step", step, feature)
            steps[step] = on_text
    return Tables(buttons, commands, steps, owners)
