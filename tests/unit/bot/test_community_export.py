"""The community file written from a structure reads back the same, and desk edits use its validation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.imports.community_export import check_spec, dump_community
from bot.imports.community_file import load_community, parse_community
from handlers.community import structure
from handlers.community.settings import CommunitySpec
from handlers.context import Context
from handlers.errors import NotAuthorised
from handlers.messages import Incoming
from tests.driver import EXAMPLE_COMMUNITY
from tests.fakes import FakeClock, FakeCommunity, FakeUnitOfWorkFactory, KeywordClassifier


@pytest.fixture
def spec() -> CommunitySpec:
    return load_community(EXAMPLE_COMMUNITY)


def test_the_written_file_reads_back_as_the_same_structure(spec: CommunitySpec) -> None:
    back = parse_community(dump_community(spec, spec.name))
    assert (back.compounds, back.grids, back.people, back.routing) == (
        spec.compounds,
        spec.grids,
        spec.people,
        spec.routing,
    )
    assert check_spec(spec) == []


def test_check_reports_what_the_file_would_refuse(spec: CommunitySpec) -> None:
    li = next(p for p in spec.people if p.name == "李娜")
    changed = structure.put_person("李娜", replace(li, deputy="李娜"))(spec)
    assert check_spec(changed) == ["people[4].deputy: a person cannot be their own deputy"]


def test_a_new_name_follows_into_deputies_and_grid_leaders(spec: CommunitySpec) -> None:
    leader = next(p for p in spec.people if p.name == "王建国")
    changed = structure.put_person("王建国", replace(leader, name="王建军"))(spec)
    assert next(g for g in changed.grids if g.name == "第一网格").leader == "王建军"
    assert check_spec(changed) == []
    removed = structure.remove_person("张伟")(spec)
    assert "张伟" not in {p.name for p in removed.people}
    assert next(p for p in removed.people if p.name == "李娜").deputy is None
    assert check_spec(removed) == []


async def test_only_staff_may_edit_the_structure(spec: CommunitySpec) -> None:
    factory = FakeUnitOfWorkFactory()
    clock = FakeClock()
    await FakeCommunity(factory.store).apply(spec, clock.now())
    async with factory() as uow:
        member = await uow.community.person_by_chat(2002)
        ctx = Context(uow, clock, KeywordClassifier({}), Incoming(chat_id=1, sender_id=2002), member, None)
        with pytest.raises(NotAuthorised):
            await structure.edit_structure(ctx, structure.remove_person("张伟"), check_spec)
