"""The forked workers of `gridbot classify` (bot/cli/workers.py): answers in input order whatever their
sizes, and a worker that stops is an error, never a hang or a process left behind."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from bot.cli.workers import ForkedWorkers, WorkerError


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """A test that would hang (the parent and a worker waiting for each other) fails instead."""

    def late(signum: int, frame: object) -> None:
        raise TimeoutError("no answer within 30 s: the parent and its workers are stuck")

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, 30)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _echo(lines: list[str]) -> bytes:
    # Long lines get an answer three times as long (megabytes: more than a pipe holds), short ones not.
    return "".join(f"{line * (3 if len(line) > 100 else 1)}|{os.getpid()}\n" for line in lines).encode()


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_answers_come_in_input_order_from_every_worker() -> None:
    # Pieces of very different sizes: long ones (up to two megabytes) fill a worker's pipes both ways while
    # the parent hands out more, so neither side may wait for one pipe alone; the answers still come
    # back in the order the pieces went out.
    pieces = [[f"{n}-{k}" * (100_000 if n % 7 == 3 else 1) for k in range(n % 5 + 1)] for n in range(60)]
    pool = ForkedWorkers(_echo, 3)
    try:
        for piece in pieces[:40]:
            pool.submit(piece)
        answers = [pool.take() for _ in range(25)]
        for piece in pieces[40:]:
            pool.submit(piece)
        while pool.pending:
            answers.append(pool.take())
    finally:
        pool.close()
    workers = set()
    for piece, answer in zip(pieces, answers, strict=True):
        lines = answer.decode().splitlines()
        assert [line.rsplit("|", 1)[0] for line in lines] == [t * (3 if len(t) > 100 else 1) for t in piece]
        workers |= {line.rsplit("|", 1)[1] for line in lines}
    assert len(workers) == 3  # every worker answered, none of them this process
    assert str(os.getpid()) not in workers


def test_an_empty_line_and_a_piece_of_one_empty_line_keep_their_count() -> None:
    pool = ForkedWorkers(lambda lines: f"{len(lines)}:{lines!r}".encode(), 2)
    try:
        for piece in ([""], ["", "a", ""], ["长" * 10]):
            pool.submit(piece)
        assert [pool.take() for _ in range(3)] == [
            b"1:['']",
            b"3:['', 'a', '']",
            "1:['长长长长长长长长长长']".encode(),
        ]
    finally:
        pool.close()


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    pool = ForkedWorkers(_echo, 2)
    victim = pool._workers[0].pid
    try:
        os.kill(victim, signal.SIGKILL)

        def hand_over_and_wait() -> None:  # the error comes handing it a piece, or waiting for it
            pool.submit(["a"])
            pool.submit(["b"])
            pool.take()

        started = time.monotonic()
        with pytest.raises(WorkerError, match=str(victim)):
            hand_over_and_wait()
        assert time.monotonic() - started < 10
    finally:
        pool.close(kill=True)
    assert _gone(victim)


def test_a_failing_piece_stops_its_worker_with_the_traceback_on_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    def fails_on_b(lines: list[str]) -> bytes:
        if lines == ["b"]:
            raise ValueError("cannot classify b")
        return b"ok"

    pool = ForkedWorkers(fails_on_b, 1)
    try:
        pool.submit(["a"])
        pool.submit(["b"])
        assert pool.take() == b"ok"
        with pytest.raises(WorkerError):
            pool.take()
    finally:
        pool.close()
    assert "ValueError: cannot classify b" in capfd.readouterr().err


def test_closing_leaves_no_process_behind_answered_or_not() -> None:
    finished = ForkedWorkers(_echo, 2)
    finished.submit(["a"])
    assert finished.take().startswith(b"a|")
    pids = [w.pid for w in finished._workers]
    finished.close()
    assert all(map(_gone, pids))

    def slow(lines: list[str]) -> bytes:
        time.sleep(60)
        return b""

    busy = ForkedWorkers(slow, 2)
    busy.submit(["a"])
    pids = [w.pid for w in busy._workers]
    started = time.monotonic()
    busy.close(kill=True)  # what an error or Ctrl-C in the parent does: no waiting for the piece
    assert time.monotonic() - started < 10
    assert all(map(_gone, pids))
