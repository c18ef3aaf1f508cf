"""What the broadcast feature answers: staff controls and alerts, residents' topic subscriptions."""

from __future__ import annotations

from handlers.broadcasts import chat, notices, subscriptions
from handlers.features import Feature
from handlers.verbs import Verb

FEATURE = Feature(
    name="broadcasts",
    buttons={
        Verb.BROADCAST_CONTROL: chat.on_control,
        Verb.ALERT: chat.on_alert,
        Verb.SUBSCRIPTION: subscriptions.on_toggle,
        Verb.NOTICE_REVIEW: notices.on_review,
    },
    commands={
        "broadcast": chat.broadcast_command,
        "alert": chat.alert_command,
        "subscriptions": subscriptions.subscriptions_command,
        "notice": notices.notice_command,
    },
)
