"""`gridbot classify`: messages on stdin, one JSON object per line on stdout, started in a blink.

The console entry (bot/cli/main.py) sends `gridbot classify ...` here before importing typer, the
settings, SQLAlchemy or any chat framework: classifying needs only nlp/ (and PyYAML for the community
file). The typer command in bot/cli/nlp.py runs the same `run` for `--help`, tests and odd arguments.

Output is buffered and flushed only when the command is about to wait for more input: a file or a pipe
full of messages costs one write per buffer, and a program talking to the command line by line (or a
person at a terminal) still sees each answer before it sends the next message.

A long input is classified by worker processes, one per CPU (`--jobs`): a message or a short file is
answered in the process itself and never starts a worker; from the first block of input big enough to
share (or the second block, however small), the classifier, already built and warmed up (jieba's
dictionary, the model's batch tables), is forked, so the workers share its tables and start instantly
(bot/cli/workers.py: plain pipes, the answers come back as the bytes to write). Answers keep the input's
order and are the same as one process gives.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import math
import os
import select
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

import yaml

from bot.cli.workers import ForkedWorkers, WorkerError
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
_PIECE = 200  # lines handed to a worker at a time: small enough to keep every worker busy to the end
_SHARED = 2 * _PIECE  # a first block of this many lines already goes to the workers
# libyaml's loader when PyYAML was built with it (several times faster than the pure-Python one).
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one encoder, not one per line as json.dumps would build
# What `_ENCODER.encode` does with a str (json.encoder's C function), called without the method around it.
_QUOTE: Callable[[str], str] = json.encoder.encode_basestring

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
            "demoted_emergency": vote.demoted,
        },
    }


class _Quoted(dict[str, str]):
    """Each category, priority and level key once encoded as a JSON string (a handful of them)."""

    def __missing__(self, key: str) -> str:
        quoted = self[key] = _ENCODER.encode(str(key))
        return quoted


_QUOTED = _Quoted()
_TRUTH = {True: "true", False: "false"}


def _string(value: str | None) -> str:
    return "null" if value is None else _QUOTE(value)


def _number(value: float) -> str:
    # float.__repr__ is what the encoder writes for a finite float; anything else takes its full path.
    return float.__repr__(value) if type(value) is float and math.isfinite(value) else _ENCODER.encode(value)


def json_line(result: Classification) -> str:
    """`_ENCODER.encode(to_json(result))`, written out directly: the same text (a test compares them on
    every kind of result) for a third of the cost, as encoding each line's dozen small dicts and lists
    cost more than classifying the message with the learned model."""
    loc = result.location
    vote = result.model
    q = _QUOTED
    if vote is None:
        decided_by, rules, model = "rules", result.category, "null"
    else:
        decided_by = "model" if vote.decided else "rules"
        rules = vote.rules_category
        alternatives = ", ".join(
            [f'{{"category": {q[c]}, "probability": {_number(p)}}}' for c, p in vote.alternatives]
        )
        model = (
            f'{{"category": {q[vote.category]}, "probability": {_number(vote.probability)}, '
            f'"alternatives": [{alternatives}], '
            f'"emergency_probability": {_number(vote.emergency_probability)}, '
            f'"raised_emergency": {_TRUTH[vote.raised]}, "demoted_emergency": {_TRUTH[vote.demoted]}}}'
        )
    keywords = ", ".join(map(_QUOTE, result.keywords))
    return (
        f'{{"category": {q[result.category]}, "priority": {q[result.priority]}, '
        f'"location": {{"compound": {_string(loc.compound)}, "building": {_string(loc.building)}, '
        f'"unit": {_string(loc.unit)}, "room": {_string(loc.room)}}}, '
        f'"keywords": [{keywords}], "confidence": {_number(result.confidence)}, '
        f'"emergency_level": {q[result.emergency_level]}, "decided_by": "{decided_by}", '
        f'"rules": {{"category": {q[rules]}}}, "model": {model}}}'
    )


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


def answer(classifier: RuleClassifier, lines: list[str]) -> str:
    """The JSON lines (newline-terminated, joined) of `lines`' classifications."""
    return "".join([json_line(result) + "\n" for result in classifier.classify_many(lines)])


def may_wait(stream: BinaryIO) -> bool:
    """Whether reading `stream` now may block: a pipe or a terminal with nothing to read yet (a regular
    file never waits). True when it cannot be told."""
    try:
        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (AttributeError, OSError, ValueError):  # no file descriptor (a test's BytesIO), or closed
        return True
    return not ready


def default_jobs() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def run(
    classifier: RuleClassifier, stdin: BinaryIO, stdout: TextIO, all_votes: bool = False, jobs: int = 1
) -> None:
    """Classify every line of `stdin`; one JSON object per line on `stdout`, in input order.

    Args:
        jobs: worker processes for a long input (1: classify in this process only).
    """
    if all_votes and classifier.second_opinion is not None:
        classifier.second_opinion.always = True
    pool: ForkedWorkers | None = None
    write_answer = _text_writer(stdout)  # for the workers' answers; _byte_writer's once they start

    def flush() -> None:
        while pool is not None and pool.pending:
            write_answer(pool.take())
        stdout.flush()

    def before_wait() -> None:
        if may_wait(stdin):
            flush()

    try:
        share = jobs > 1  # until the workers are started (or cannot be)
        for n, block in enumerate(input_blocks(stdin, before_wait)):
            if share and (n >= 1 or len(block) >= _SHARED):
                pool, share = _workers(classifier, jobs), False
                if pool is not None:
                    write_answer = _byte_writer(stdout)
            if pool is None:
                stdout.write(answer(classifier, block))
                continue
            for at in range(0, len(block), _PIECE):
                pool.submit(block[at : at + _PIECE])
            while pool.pending > 4 * jobs:  # bounded memory however long the input
                write_answer(pool.take())
        flush()
    except BaseException:
        if pool is not None:
            pool.close(kill=True)  # the answers still to come are of no use now
        raise
    if pool is not None:
        pool.close()


def _text_writer(stdout: TextIO) -> Callable[[bytes], object]:
    return lambda data: stdout.write(data.decode())


def _byte_writer(stdout: TextIO) -> Callable[[bytes], object]:
    """Where the workers' answers (UTF-8 bytes) go: straight into stdout's own buffer when it writes
    UTF-8 (no decoding and encoding again of some 550 bytes a line), else decoded (a test's StringIO,
    a terminal in another encoding)."""
    binary = getattr(stdout, "buffer", None)
    encoding = getattr(stdout, "encoding", None)
    if binary is None or not encoding or codecs.lookup(encoding).name != "utf-8":
        return _text_writer(stdout)
    stdout.flush()  # what the text layer holds goes out first
    return cast(Callable[[bytes], object], binary.write)


def _workers(classifier: RuleClassifier, jobs: int) -> ForkedWorkers | None:
    """`jobs` processes forked from this one, each holding `classifier` as built here (never pickled);
    None where processes cannot be forked (the caller then classifies alone)."""
    if not hasattr(os, "fork"):
        return None
    classifier.warm_up()  # jieba's dictionary, numpy and the model's tables: built once, shared by the workers

    def work(lines: list[str]) -> bytes:
        return answer(classifier, lines).encode()

    return ForkedWorkers(work, jobs)


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
    parser.add_argument("--jobs", type=int, default=0)
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
    # numpy (the learned model's blocks) is imported later. Its arithmetic here is element-wise (take,
    # bincount), never BLAS, yet OpenBLAS starts a thread per CPU at import: ~25 ms more start-up and
    # ~0.1 s of CPU spinning beside the workers on a 2-CPU machine. A setting of the user's own is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        classifier = build_classifier(args.community, args.rules, None if args.no_model else args.model)
    except ClassifyError as exc:
        stderr.write(f"{exc}\n")
        return 2
    if community_file(args.community) is None:
        stderr.write(f"{NO_COMMUNITY}\n")
    try:
        run(classifier, stdin, stdout, args.all_votes, args.jobs if args.jobs > 0 else default_jobs())
    except BrokenPipeError:  # `gridbot classify < file | head`: the reader has all it wanted
        _silence(stdout)
        return 1
    except WorkerError as exc:  # killed (out of memory, say): what was answered is out, the rest is not
        stdout.flush()
        stderr.write(f"error: {exc}; the answers stop at the last line written (try --jobs 1)\n")
        return 1
    return 0


def _silence(stdout: TextIO) -> None:
    """Point `stdout`'s descriptor at /dev/null, so the interpreter's last flush at exit cannot fail again."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
