"""The shipped campaign library parses, covers every topic, and names the 96110 hotline where it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.imports.campaigns import CampaignFileError, parse_file, read_dirs
from handlers.broadcasts.model import Topic

LIBRARY = Path(__file__).resolve().parents[3] / "deploy/campaigns"


def test_library_has_a_dozen_campaigns_across_every_topic() -> None:
    campaigns = read_dirs([LIBRARY])
    assert len(campaigns) >= 12
    assert {c.topic for c in campaigns} == set(Topic) - {
        Topic.EMERGENCY,
        Topic.GRID_NOTICE,
    }  # members write those
    fraud = [c for c in campaigns if c.topic is Topic.ANTI_FRAUD]
    assert len(fraud) >= 7
    assert all("96110" in c.text for c in fraud)
    assert all(len(c.text) < 3500 for c in campaigns)
    forest = next(c for c in campaigns if c.topic is Topic.FOREST_FIRE)
    assert "五边" in forest.text
    assert "清明" in forest.text


def test_staff_files_override_the_library_by_key(tmp_path: Path) -> None:
    (tmp_path / "fire_high_rise.md").write_text(
        "---\ntitle: 我们自己的版本\ntopic: fire_safety\n---\n正文", "utf-8"
    )
    by_key = {c.key: c for c in read_dirs([LIBRARY, tmp_path])}
    assert by_key["fire_high_rise"].title == "我们自己的版本"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("no front matter", "front matter"),
        ("---\ntitle: x\ntopic: weather\n---\n正文", "unknown topic"),
        ("---\ntopic: flood\n---\n正文", "title is missing"),
        ("---\ntitle: x\ntopic: flood\n---\n", "empty"),
        ("---\ntitle: [\n---\n正文", "not valid YAML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.md"
    path.write_text(content, "utf-8")
    with pytest.raises(CampaignFileError) as error:
        parse_file(path)
    assert problem in str(error.value)
