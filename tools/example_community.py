"""The example community (deploy/examples/community.yaml) as tests and benchmarks set it up.

:func:`example_spec` gives 第一网格 a group chat; :func:`prepare_database` does what
``gridbot db upgrade`` + ``gridbot org import`` do, on any database URL.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.imports.community_file import load_community
from bot.schedule.clock import SystemClock
from handlers.community.settings import CommunitySpec
from storage.database import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

__all__ = ["EXAMPLE_COMMUNITY", "GROUP_FIRST_GRID", "PEOPLE", "example_spec", "prepare_database"]

EXAMPLE_COMMUNITY = Path(__file__).resolve().parents[1] / "deploy/examples/community.yaml"
GROUP_FIRST_GRID = -1001234500001  # 第一网格's group chat
# Everyone in the example community with a role (staff, grid leaders and members, building leaders).
PEOPLE = (1001, 1002, 1003, 2001, 2002, 2003, 2101, 2102, 2201, 2202, 2301, 2302, 3001, 3002)


def example_spec() -> CommunitySpec:
    """The example community with 第一网格 given a group chat."""
    spec = load_community(EXAMPLE_COMMUNITY)
    grids = tuple(
        dataclasses.replace(g, group_chat_id=GROUP_FIRST_GRID) if g.name == "第一网格" else g
        for g in spec.grids
    )
    return dataclasses.replace(spec, grids=grids)


async def prepare_database(url: str, spec: CommunitySpec | None = None) -> None:
    """Migrate and import a community (what `gridbot db upgrade` + `org import` do); default: the example."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        factory = SqlUnitOfWorkFactory(make_session_factory(engine), SystemClock())
        async with factory() as uow:
            await uow.community.apply(spec or example_spec())
            await uow.commit()
    finally:
        await engine.dispose()
