"""What the statistics feature answers: /stats (with the breakdown) and /report.

`/stats` replaces the work-order feature's plain one (handlers.workorders.duty.stats), whose live figures
it still shows first for staff.
"""

from __future__ import annotations

from handlers.features import Feature
from handlers.statistics import chat

FEATURE = Feature(
    name="statistics",
    commands={
        "stats": chat.stats,
        "report": chat.report,
    },
)
