"""The classifier's labelled examples in memory (storage/repositories/labels.py on SQL)."""

from __future__ import annotations

from dataclasses import replace

from handlers.labels.model import ClassificationLabel
from tests.fakes.store import FakeStore


class FakeLabels:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, label: ClassificationLabel) -> ClassificationLabel:
        stored = replace(label, id=self.s.new_id())
        self.s.labels.append(stored)
        return stored

    async def page(self, after: int = 0, limit: int = 1000) -> list[ClassificationLabel]:
        found = sorted(
            (lb for lb in self.s.labels if lb.id is not None and lb.id > after), key=lambda lb: lb.id or 0
        )
        return found[:limit]
