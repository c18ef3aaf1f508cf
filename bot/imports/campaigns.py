"""The campaign library as files: Markdown with YAML front matter, one campaign per file.

```
---
key: anti_fraud_police        # optional, defaults to the file name
title: 自称“公检法”要您转账？是诈骗！
topic: anti_fraud             # anti_fraud | fire_safety | forest_fire | flood | gas_safety | activity | legal
audience: 全体居民            # optional default, in the words /broadcast understands
schedule: {cron: "0 9 * * 1", season: "03-01..05-31"}   # optional default: at | cron, season, until
---
正文……
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.imports import limits, safe_yaml
from bot.imports.encoding import UnreadableFile, read_document
from handlers.broadcasts.model import BroadcastRefused, Campaign, Topic
from handlers.broadcasts.requests import BroadcastRequest, parse_audience, parse_schedule, parse_topic
from handlers.ports import UnitOfWork

_FRONT = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*\n(?P<body>.*)\Z", re.DOTALL)
_KEY = re.compile(r"^[a-z0-9_]{1,64}$")


class CampaignFileError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CampaignFile:
    path: Path
    key: str
    title: str
    topic: Topic
    text: str
    audience: str | None
    schedule: dict[str, Any] | None


def parse_file(path: Path) -> CampaignFile:
    """One campaign file; CampaignFileError with one line per problem ("path:line: ..." where known)."""
    try:
        source = read_document(path).text
    except UnreadableFile as error:
        raise CampaignFileError([str(error)]) from error
    match = _FRONT.match(source)
    if match is None:
        raise CampaignFileError([f"{path}: needs YAML front matter between two '---' lines"])
    try:
        meta = safe_yaml.load(match["meta"]) or {}
    except safe_yaml.YamlRefused as error:
        line = error.line + 1 if error.line else 0  # the front matter starts on the file's line 2
        where = f"{path}:{line}" if line else str(path)
        raise CampaignFileError([f"{where}: front matter: {error.message}"]) from error
    if not isinstance(meta, dict):
        raise CampaignFileError([f"{path}: the front matter should be key: value lines"])
    problems = []
    key = str(meta.get("key") or path.stem)
    if not _KEY.match(key):
        problems.append(f"{path}: key {key!r} must be lower-case letters, digits and _")
    if not meta.get("title"):
        problems.append(f"{path}: title is missing")
    elif len(str(meta["title"])) > limits.CAMPAIGN_TITLE:
        problems.append(f"{path}: the title is longer than {limits.CAMPAIGN_TITLE} characters")
    elif (char := limits.control_character(str(meta["title"]))) is not None:  # written as "\x00" in YAML
        problems.append(f"{path}: the title contains the control character U+{ord(char):04X}")
    text = match["body"].strip()
    if not text:
        problems.append(f"{path}: the message text is empty")
    if (char := limits.control_character(source)) is not None:  # a NUL would fail the insert on PostgreSQL
        line = source.count("\n", 0, source.index(char)) + 1
        problems.append(f"{path}:{line}: contains the control character U+{ord(char):04X}")
    try:
        topic = parse_topic(str(meta.get("topic") or ""), Topic.EMERGENCY)
        if topic is Topic.EMERGENCY:
            problems.append(
                f"{path}: topic must be one of {', '.join(t.value for t in Topic if t is not Topic.EMERGENCY)}"
            )
    except BroadcastRefused:
        problems.append(f"{path}: unknown topic {meta.get('topic')!r}")
        topic = Topic.ACTIVITY
    schedule = meta.get("schedule")
    if schedule is not None and not isinstance(schedule, dict):
        problems.append(f"{path}: schedule must be a mapping (at | cron, season, until)")
    if problems:
        raise CampaignFileError(problems)
    audience = meta.get("audience")
    return CampaignFile(
        path, key, str(meta["title"]), topic, text, str(audience) if audience else None, schedule
    )


def read_dirs(dirs: list[Path]) -> list[CampaignFile]:
    """Every *.md in the directories, in order; a later directory's campaign replaces one with its key."""
    found: dict[str, CampaignFile] = {}
    problems: list[str] = []
    for directory in dirs:
        for path in sorted(directory.glob("*.md")):
            if path.name.lower() == "readme.md":
                continue
            try:
                campaign = parse_file(path)
            except CampaignFileError as error:
                problems += error.problems
                continue
            found[campaign.key] = campaign
    if problems:
        raise CampaignFileError(problems)
    return list(found.values())


async def store(uow: UnitOfWork, files: list[CampaignFile], timezone: str) -> None:
    """Resolve default audiences and schedules against the community and save them (caller commits)."""
    problems = []
    for f in files:
        try:
            audience = await parse_audience(uow, f.audience) if f.audience else None
            schedule = None
            if f.schedule:
                plan = {k: str(v) for k, v in f.schedule.items()}
                request = BroadcastRequest(
                    at=plan.get("at"),
                    cron=plan.get("cron"),
                    season=plan.get("season"),
                    until=plan.get("until"),
                )
                schedule = parse_schedule(request, None, timezone)
        except BroadcastRefused as error:
            problems.append(f"{f.path}: {error}")
            continue
        await uow.broadcasts.save_campaign(Campaign(f.key, f.title, f.topic, f.text, audience, schedule))
    if problems:
        raise CampaignFileError(problems)
