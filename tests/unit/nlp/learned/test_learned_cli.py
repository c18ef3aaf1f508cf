"""`gridbot classify` (both votes, the fast entry, buffered output), `gridbot nlp train`, `rules eval --compare`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import classify as classify_cli
from bot.cli.classify import build_classifier, fast_main, input_blocks, json_line, may_wait, run, to_json
from bot.cli.nlp import classify_command, nlp_app, rules_app
from nlp.classifier import DEFAULT_MODEL
from nlp.learned.pipeline import SHIPPED_SETS
from nlp.learned.store import load_model
from nlp.types import Category, Classification, EmergencyLevel, Location, ModelVote, Priority

ROOT = Path(__file__).resolve().parents[4]
# The rules find nothing in this one, so the learned model is asked.
VAGUE = "在吗在吗 有个事想问问"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("classify")(classify_command)
    app.add_typer(rules_app, name="rules")
    app.add_typer(nlp_app, name="nlp")
    return app


def test_classify_shows_both_votes() -> None:
    result = CliRunner().invoke(_app(), ["classify"], input=f"兴泰5号楼着火了\n{VAGUE}\n")
    assert result.exit_code == 0, result.output
    sure, vague = (json.loads(line) for line in result.stdout.splitlines())
    assert sure["rules"] == {"category": "emergency"}
    # The model is shown the rules' emergency (it may demote it); here it agrees, and nothing changes.
    assert sure["model"]["category"] == "emergency"
    assert sure["model"]["demoted_emergency"] is False
    assert (sure["category"], sure["emergency_level"], sure["decided_by"]) == (
        "emergency",
        "certain",
        "rules",
    )
    vote = vague["model"]
    assert vote is not None
    assert set(vote) == {
        "category",
        "probability",
        "alternatives",
        "emergency_probability",
        "raised_emergency",
        "demoted_emergency",
    }
    assert 0 < vote["probability"] <= 1
    assert len(vote["alternatives"]) == 2
    assert vague["decided_by"] in ("rules", "model")
    if vague["decided_by"] == "model":
        assert vague["category"] == vote["category"]
        assert vague["rules"]["category"] != vote["category"]


def test_all_votes_and_no_model() -> None:
    every = CliRunner().invoke(_app(), ["classify", "--all-votes"], input="兴泰5号楼着火了\n")
    assert json.loads(every.stdout)["model"]["category"] == "emergency"
    rules_only = CliRunner().invoke(_app(), ["classify", "--no-model"], input=f"{VAGUE}\n")
    line = json.loads(rules_only.stdout)
    assert line["model"] is None
    assert line["decided_by"] == "rules"


def test_classify_with_a_bad_model_file_says_so_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["classify", "--model", str(tmp_path / "none.bin")], input="x\n")
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {tmp_path / 'none.bin'}: cannot read model file (No such file or directory)"
    )


def test_fast_path_answers_every_line_and_leaves_help_to_typer() -> None:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.BytesIO("兴泰5号楼着火了\r\n\n\xff半行".encode("utf-8", "surrogateescape"))
    assert fast_main(["--no-model"], stdin, out, err) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["category"] for line in lines[:2]] == ["emergency", "unknown"]
    assert len(lines) == 3  # the last line has no newline; the undecodable byte is replaced
    assert fast_main(["--help"], io.BytesIO(), out, err) is None
    assert fast_main(["--bogus"], io.BytesIO(), out, err) is None
    assert fast_main(["--rules", "/nonexistent.yaml"], io.BytesIO(b"x\n"), out, err) == 2
    assert "/nonexistent.yaml" in err.getvalue()


@pytest.mark.parametrize(("users", "expected"), [(None, "1"), ("4", "4")])
def test_classify_keeps_openblas_to_one_thread_unless_the_user_said(
    monkeypatch: pytest.MonkeyPatch, users: str | None, expected: str
) -> None:
    # numpy is imported later (the model's blocks); OpenBLAS reads this once, at that import.
    if users is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", users)
    assert fast_main(["--no-model"], io.BytesIO(b"x\n"), io.StringIO(), io.StringIO()) == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == expected


def test_bad_input_gives_one_json_line_each() -> None:
    lines = ["", "长" * 100_000, "a\x00b\x0bc\x0cd\x1ce\x85f\u2028g\rh", "😀🔥🆘", "電梯壞了 dt坏了 ЖЖ abc"]
    out = io.StringIO()
    assert fast_main([], io.BytesIO(("\n".join(lines) + "\n").encode()), out, io.StringIO()) == 0
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(answers) == len(lines)
    assert all(answer["rules"]["category"] for answer in answers)


class _Chunks(io.RawIOBase):
    """A pipe delivering its data in two reads, recording when the reader flushed."""

    def __init__(self, events: list[object]) -> None:
        self._chunks = [b"a\nb\n", b"c\n"]
        self.events = events

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        self.events.append("read")
        return self._chunks.pop(0) if self._chunks else b""


def test_output_is_flushed_only_before_waiting_for_more_input() -> None:
    events: list[object] = []
    stream = _Chunks(events)
    for block in input_blocks(stream, lambda: events.append("flush")):  # type: ignore[arg-type]
        events.append(block)
    assert events == ["flush", "read", ["a", "b"], "flush", "read", ["c"], "flush", "read"]


def test_the_console_entry_classifies_without_typer_or_the_database() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", "classify"],
        input="兴泰5号楼着火了\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["category"] == "emergency"
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "nlp.classifier" in imported
    assert not {"typer", "sqlalchemy", "aiohttp", "pydantic", "bot.settings", "storage"} & imported


@pytest.mark.parametrize("lines", [1, 5000])  # one small write; many, through the workers
def test_the_console_entry_leaves_nothing_unwritten(tmp_path: Path, lines: int) -> None:
    # It exits without tearing the interpreter down, which would have flushed what is still buffered;
    # output is buffered as a user's shell has it (these machines set PYTHONUNBUFFERED).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{n % 30 + 1}号楼电梯坏了\n" for n in range(lines)), encoding="utf-8")
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "classify"],
            stdin=stdin,
            capture_output=True,
            cwd=ROOT,
            timeout=120,
            env=env,
        )
    assert done.returncode == 0
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(answers) == lines
    assert answers[-1]["location"]["building"] == str((lines - 1) % 30 + 1)
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "classify", "--community", str(tmp_path / "none.yaml")],
            stdin=stdin,
            capture_output=True,
            cwd=ROOT,
            timeout=120,
            env=env,
        )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode() == f"{tmp_path / 'none.yaml'}: file not found\n"


def _sets(folder: Path) -> None:
    rows = {
        "emergency": ["楼道里着火了 好大的烟", "三楼冒烟了 有人被困", "电梯关人了 快来"],
        "repair": ["厨房水管漏水 找师傅修一下", "楼道灯坏了 麻烦来修", "门禁坏了 进不去"],
        "parking": ["车位被人占了 车停不进去", "小区门口乱停车 堵住了", "消防通道停满了车"],
    }
    for name in SHIPPED_SETS:
        lines = ["text,label", *(f"{text},{label}" for label, texts in rows.items() for text in texts)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_nlp_train_writes_a_model_the_classifier_loads(tmp_path: Path) -> None:
    _sets(tmp_path)
    extra = tmp_path / "labels.csv"
    extra.write_text(
        "text,label\n物业费怎么交,utility_payment\n水费在哪交,utility_payment\n", encoding="utf-8"
    )
    out = tmp_path / "model.bin"
    result = CliRunner().invoke(
        _app(), ["nlp", "train", "--sets-dir", str(tmp_path), "--extra", str(extra), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.meta["sources"]["labels.csv"] == 2
    assert "utility_payment" in model.labels
    answer = CliRunner().invoke(
        _app(), ["classify", "--model", str(out), "--all-votes"], input="物业费怎么交\n"
    )
    assert json.loads(answer.stdout)["model"]["category"] == "utility_payment"


def test_nlp_train_refuses_unknown_labels(tmp_path: Path) -> None:
    _sets(tmp_path)
    extra = tmp_path / "labels.csv"
    extra.write_text("text,label\n随便说说,chitchat\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["nlp", "train", "--sets-dir", str(tmp_path), "--extra", str(extra)])
    assert result.exit_code == 2
    assert "labels.csv: unknown label(s) chitchat" in result.output


def test_rules_eval_compares_rules_model_and_combined(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    data.write_text(
        f"text,label\n楼道灯坏了,repair\n着火了,emergency\n{VAGUE},assistance\n", encoding="utf-8"
    )
    result = CliRunner().invoke(_app(), ["rules", "eval", str(data), "--compare"])
    assert result.exit_code == 0, result.output
    table = result.stdout[result.stdout.index("rules alone / learned model alone / combined") :]
    assert [line.split()[0] for line in table.splitlines()[2:5]] == ["rules", "model", "combined"]
    assert "all-staff/1k" in table
    assert "training sets" not in table  # msgs.csv did not train the model


def _dataset_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("*.csv")):
        if path.name.startswith(("blind", "holdout")):  # blind sets are opened only to be scored
            continue
        with path.open(encoding="utf-8") as fh:
            texts.extend(" ".join(row["text"].splitlines()) for row in csv.DictReader(fh))
    return texts


def test_workers_answer_every_line_in_order_exactly_as_one_process(tmp_path: Path) -> None:
    """A long input goes to forked workers in pieces; the bytes written are those of one process, on every
    text of the data sets plus odd input."""
    texts = [*_dataset_texts(), "", "😀🔥🆘", "a\x00b\x1bc", "長" * 5000]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert source.stat().st_size > 2 * 65536  # three blocks, each big enough to go to the workers
    classifier = build_classifier(None, None, DEFAULT_MODEL)
    outputs = []
    for jobs in (1, 2):
        out = io.StringIO()
        with source.open("rb") as stdin:
            run(classifier, stdin, out, jobs=jobs)
        outputs.append(out.getvalue())
    assert outputs[0].count("\n") == len(texts)
    assert outputs[1] == outputs[0]


def test_workers_start_with_a_first_block_worth_sharing_and_never_for_a_short_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    def no_workers(classifier: object, jobs: int) -> None:
        started.append(jobs)  # and classify alone, as where processes cannot be forked

    monkeypatch.setattr(classify_cli, "_workers", no_workers)
    classifier = build_classifier(None, None, None)
    for lines, expected in ((50, []), (2500, [2]), (5000, [2])):  # one short block, one big, two
        source = tmp_path / f"{lines}.txt"
        source.write_text("".join(f"{n}号楼电梯坏了\n" for n in range(lines)), encoding="utf-8")
        assert (source.stat().st_size > 65536) == (lines == 5000)
        started.clear()
        out = io.StringIO()
        with source.open("rb") as stdin:
            run(classifier, stdin, out, jobs=2)
        assert started == expected, lines
        assert out.getvalue().count("\n") == lines


class _CountingOut(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_a_file_on_stdin_is_answered_without_a_flush_per_block(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("兴泰5号楼着火了\n" * 20_000, encoding="utf-8")  # ~440 kB: seven blocks
    out = _CountingOut()
    with source.open("rb") as stdin:
        assert not may_wait(stdin)  # a regular file never makes the reader wait
        run(build_classifier(None, None, None), stdin, out)
    assert out.getvalue().count("\n") == 20_000
    assert out.flushes == 1  # once, at the end
    read, write = os.pipe()
    with os.fdopen(read, "rb") as empty_pipe, os.fdopen(write, "wb"):
        assert may_wait(empty_pipe)  # nothing written yet: answers so far must go out first


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """`gridbot classify < file | head -1`: the command stops quietly when its reader goes away."""
    source = tmp_path / "in.txt"
    source.write_text("楼道灯坏了\n" * 50_000, encoding="utf-8")
    with source.open("rb") as stdin:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "classify", "--no-model"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert json.loads(proc.stdout.readline())["category"] == "repair"
        proc.stdout.close()
        errors = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(timeout=120) == 1
    assert "Traceback" not in errors


def test_json_lines_are_the_encoded_documented_shape() -> None:
    # `answer` writes each line directly (json_line); it must be the text of encoding to_json's dict.
    classifier = build_classifier(None, None)
    with (ROOT / "tests" / "data" / "dev_styles.csv").open(encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    results = [
        *classifier.classify_many(texts),
        *build_classifier(None, None, None).classify_many(texts[:50]),
    ]
    assert {r.model is None for r in results} == {True, False}
    assert any(r.model is not None and r.model.decided for r in results)
    assert any(not r.location.is_empty for r in results)
    odd_vote = ModelVote(Category.FRAUD, 1.0, (), 0.0, decided=True, raised=True, demoted=True)
    odd = [
        Classification(
            Category("heating"),
            Priority.URGENT,
            Location("兴泰小区", "5", None, "501"),
            ('"引号"', "back\\slash", "new\nline", "\x00\u2028😀", "é"),
            float("nan"),
            (Category("heating"), Category.REPAIR),
            EmergencyLevel.POSSIBLE,
            odd_vote,
        ),
        Classification(Category.UNKNOWN, Priority.NORMAL, confidence=1),  # type: ignore[arg-type]
        Classification(Category.OTHER, Priority.HIGH, confidence=float("inf"), model=odd_vote),
        Classification(Category.OTHER, Priority.HIGH, confidence=1e-07, keywords=("x",)),
    ]
    encoder = json.JSONEncoder(ensure_ascii=False)
    for result in [*results, *odd]:
        assert json_line(result) == encoder.encode(to_json(result)), result


def test_a_worker_that_dies_ends_the_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-way (the kernel's OOM killer, say): one line on stderr and status 1, no
    traceback and no hang; the answers already written stay in order."""

    test_process = os.getpid()

    def dies(classifier: object, lines: list[str]) -> str:
        assert os.getpid() != test_process, "classified here, not in a worker"
        os._exit(9)  # in the worker: as abrupt as a SIGKILL

    monkeypatch.setattr(classify_cli, "answer", dies)
    source = tmp_path / "in.txt"
    source.write_text("楼道灯坏了\n" * 5000, encoding="utf-8")  # more than a block: the workers start
    out, err = io.StringIO(), io.StringIO()
    with source.open("rb") as stdin:
        code = fast_main(["--no-model", "--jobs", "2"], stdin, out, err)
    assert code == 1
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("error: a classifying worker (process ")
    assert out.getvalue() == ""
