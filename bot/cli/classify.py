"""`gridbot classify`: messages on stdin, one JSON object per line on stdout, started in a blink.

The console entry (bot/cli/main.py) sends `gridbot classify ...` here before importing typer, the
settings, SQLAlchemy or any chat framework: classifying needs only nlp/ (and PyYAML for the community
file). The typer command in bot/cli/nlp.py runs the same `run` for `--help`, tests and odd arguments.

Output is written in blocks, flushed whenever the command is about to wait for more input: a file or a
pipe full of messages costs one write per block, and a program talking to the command line by line (or
a person at a terminal) still sees each answer before it sends the next message.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from nlp import Classification, NlpError, RuleClassifier, load_classifier
from nlp.classifier import DEFAULT_MODEL

DEFAULT_COMMUNITY = Path("deploy/examples/community.yaml")
# The example next to the code (a checkout), for `gridbot classify` run from another folder.
EXAMPLE_COMMUNITY = Path(__file__).resolve().parents[2] / DEFAULT_COMMUNITY
NO_COMMUNITY = (
    "note: no community file found, so compound names are not recognised as locations "
    "(pass --community FILE or set GRIDBOT_COMMUNITY_FILE)"
)
_CHUNK = 1 << 16
# libyaml's loader when PyYAML was built with it (several times faster than the pure-Python one).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one encoder, not one per line as json.dumps would build

log = logging.getLogger(__name__)


class ClassifyError(Exception):
    """A bad argument or file; the message is the one line to print."""


def read_compounds(path: Path | None, default: Path = DEFAULT_COMMUNITY) -> dict[str, list[str]]:
    """Compound name -> aliases from a community file's `compounds:` list; {} when there is no file.

    Raises:
        ClassifyError: `path` was given and is missing, or a community file cannot be read.
    """
    target = path or default
    if not target.exists():
        if path is not None:
            raise ClassifyError(f"{path}: file not found")
        return {}
    try:
        data = yaml.load(target.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ClassifyError(f"{target}: cannot read community file ({exc})") from exc
    compounds: dict[str, list[str]] = {}
    for item in data.get("compounds") or [] if isinstance(data, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            aliases = item.get("aliases") or []
            compounds[item["name"]] = [str(a) for a in aliases if isinstance(a, str | int)]
    return compounds


def community_file(community: Path | None, default: Path = DEFAULT_COMMUNITY) -> Path | None:
    """The community file to read: --community, else GRIDBOT_COMMUNITY_FILE (as the bot reads it), else
    `default` in the current folder, else the example beside the code; None when there is none."""
    if community is not None:
        return community
    configured = os.environ.get("GRIDBOT_COMMUNITY_FILE")
    if configured:
        return Path(configured)
    return next((path for path in (default, EXAMPLE_COMMUNITY) if path.exists()), None)


def build_classifier(
    community: Path | None,
    rules: Path | None,
    model: Path | None = DEFAULT_MODEL,
    default_community: Path = DEFAULT_COMMUNITY,
) -> RuleClassifier:
    """The classifier `gridbot classify` uses: rules (--rules, else GRIDBOT_RULES_FILE, else the shipped
    ones), the community's compounds (`community_file`), the learned model.

    Raises:
        ClassifyError: a bad community, rules or model file (the message names it).
    """
    found = community_file(community, default_community)
    compounds = read_compounds(found, default_community) if found is not None else {}
    configured_rules = os.environ.get("GRIDBOT_RULES_FILE")
    rules = rules or (Path(configured_rules) if configured_rules else None)
    try:
        return load_classifier(rules, compounds, model=model)
    except NlpError as exc:
        raise ClassifyError(f"error: {exc}") from exc


def to_json(result: Classification) -> dict[str, Any]:
    """The documented JSON shape of one classification: the combined answer, then both votes."""
    loc = result.location
    vote = result.model
    return {
        "category": result.category.value,
        "priority": result.priority.value,
        "location": {"compound": loc.compound, "building": loc.building, "unit": loc.unit, "room": loc.room},
        "keywords": list(result.keywords),
        "confidence": result.confidence,
        "emergency_level": result.emergency_level.value,
        "decided_by": "model" if vote is not None and vote.decided else "rules",
        "rules": {"category": (vote.rules_category if vote is not None else result.category).value},
        "model": None
        if vote is None
        else {
            "category": vote.category.value,
            "probability": vote.probability,
            "alternatives": [{"category": c.value, "probability": p} for c, p in vote.alternatives],
            "emergency_probability": vote.emergency_probability,
            "raised_emergency": vote.raised,
        },
    }


def input_blocks(stream: BinaryIO, before_wait: Callable[[], None]) -> Iterator[list[str]]:
    """The lines of `stream` (UTF-8, bad bytes replaced, "\\r\\n" or "\\n"), in the blocks they arrive in,
    calling `before_wait` each time the next read may block."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    read = getattr(stream, "read1", stream.read)  # read1: what is there now, without waiting for more
    while True:
        before_wait()
        chunk = read(_CHUNK)
        if not chunk:
            break
        *complete, pending = (pending + decoder.decode(chunk)).split("\n")
        if complete:
            yield [line[:-1] if line.endswith("\r") else line for line in complete]
    pending += decoder.decode(b"", final=True)
    if pending:
        yield [pending[:-1] if pending.endswith("\r") else pending]


def run(classifier: RuleClassifier, stdin: BinaryIO, stdout: TextIO, all_votes: bool = False) -> None:
    """Classify every line of `stdin`; one JSON object per line on `stdout`."""
    if all_votes and classifier.second_opinion is not None:
        classifier.second_opinion.always = True
    out: list[str] = []
    encode = _ENCODER.encode

    def flush() -> None:
        if out:
            stdout.write("".join(out))
            out.clear()
        stdout.flush()

    for block in input_blocks(stdin, flush):
        out.extend(encode(to_json(result)) + "\n" for result in classifier.classify_many(block))
    flush()


class _Unparsed(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print and exit; typer reports instead
        raise _Unparsed(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gridbot classify", add_help=False)
    parser.add_argument("--community", type=Path)
    parser.add_argument("--rules", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--no-model", action="store_true")
    parser.add_argument("--all-votes", action="store_true")
    return parser


def fast_main(argv: list[str], stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int | None:
    """Run `gridbot classify` with `argv` (the arguments after "classify"); the exit status.

    None when the arguments need the full command line (help, or something this parser does not know),
    so typer answers them as it answers every other command.
    """
    if any(a in ("-h", "--help") for a in argv):
        return None
    try:
        args = _parser().parse_args(argv)
    except _Unparsed:  # let typer report it in the usual style
        return None
    try:
        classifier = build_classifier(args.community, args.rules, None if args.no_model else args.model)
    except ClassifyError as exc:
        stderr.write(f"{exc}\n")
        return 2
    if community_file(args.community) is None:
        stderr.write(f"{NO_COMMUNITY}\n")
    run(classifier, stdin, stdout, args.all_votes)
    return 0
