"""Forked workers for `gridbot classify`: pieces of a long input handed out, their answers back in order.

multiprocessing's pool did this at a price that came to about a twentieth of the whole command on
bench-nlp: importing it (~12 ms before the first answer), pickling every piece and every answer (the
answers are six times the input), and a feeder and a manager thread in the parent contending for the GIL
with the loop that writes the answers out. Here a worker is a plain `os.fork` of the process holding the
built classifier, with one pipe in (pieces, newline-joined UTF-8) and one pipe out (answers, the UTF-8
bytes to write), each frame led by its length; the parent writes the answers' bytes as they come.

The parent never blocks on one pipe while another could let it go on (it polls them all): a worker
blocked writing a long answer while the parent is blocked handing it the next piece would otherwise wait
for each other forever. Pieces go to the workers in turn and each answers its own in order, so taking
the answers in the same turn gives them in input order. A worker that dies (killed, out of memory) is
seen as its pipe closing: `WorkerError`, never a hang.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable

_LENGTH = 8  # bytes of a frame's length, little-endian
_READ = 1 << 20
_PIPE_SIZE = 1 << 20  # a whole answer fits, so a worker rarely waits for the parent to read (Linux)


class WorkerError(RuntimeError):
    """A worker stopped before answering every piece handed to it."""


class _Worker:
    def __init__(self, pid: int, pieces: int, answers: int) -> None:
        self.pid = pid
        self.pieces = pieces  # the pipe the parent writes pieces to (non-blocking)
        self.answers = answers  # the pipe the parent reads answers from (non-blocking)
        self.unsent: deque[memoryview] = deque()
        self.received = bytearray()
        self.ready: deque[bytes] = deque()
        self.unanswered = 0


class ForkedWorkers:
    """`jobs` processes forked from this one, each running `work` on the pieces handed to it.

    `work` runs in the workers only; whatever it needs (the classifier) is shared as this process built
    it, never pickled. It gets a piece's lines and returns the bytes to write for them.
    """

    def __init__(self, work: Callable[[list[str]], bytes], jobs: int) -> None:
        self._workers: list[_Worker] = []
        self._turns: deque[_Worker] = deque()  # who answers each piece not yet taken, in input order
        self._next = 0
        try:
            for _ in range(max(1, jobs)):
                self._workers.append(self._fork(work))
        except BaseException:
            self.close(kill=True)
            raise

    def submit(self, lines: list[str]) -> None:
        """Hand the next piece of input (lines without their newlines) to the next worker in turn."""
        worker = self._workers[self._next]
        self._next = (self._next + 1) % len(self._workers)
        payload = "\n".join(lines).encode()
        worker.unsent.append(memoryview(len(payload).to_bytes(_LENGTH, "little") + payload))
        worker.unanswered += 1
        self._turns.append(worker)
        self._send(worker)

    @property
    def pending(self) -> int:
        """Pieces handed out whose answers have not been taken."""
        return len(self._turns)

    def take(self) -> bytes:
        """The answer to the oldest piece not yet taken, waiting for it if need be.

        Raises:
            WorkerError: a worker stopped (its answers will never come).
        """
        worker = self._turns[0]
        while not worker.ready:
            self._move()
        self._turns.popleft()
        return worker.ready.popleft()

    def close(self, kill: bool = False) -> None:
        """End the workers and wait for them: at once with `kill`, else once they have answered every
        piece (it is for the caller to have taken the answers)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            _close(worker.pieces)  # end of input: an idle worker leaves
            if kill:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
        for worker in workers:
            _close(worker.answers)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)

    def _fork(self, work: Callable[[list[str]], bytes]) -> _Worker:
        pieces_in, pieces_out = os.pipe()
        answers_in, answers_out = os.pipe()
        for fd in (pieces_out, answers_out):
            _widen(fd)
        pid = os.fork()
        if pid == 0:  # the worker: it never returns from here, nor runs the parent's cleanup
            code = 1
            try:
                for fd in (
                    pieces_out,
                    answers_in,
                    *(f for w in self._workers for f in (w.pieces, w.answers)),
                ):
                    os.close(fd)  # the parent's ends: only the parent may hold them, or EOF never comes
                code = _serve(work, pieces_in, answers_out)
            finally:
                os._exit(code)
        os.close(pieces_in)
        os.close(answers_out)
        os.set_blocking(pieces_out, False)
        os.set_blocking(answers_in, False)
        return _Worker(pid, pieces_out, answers_in)

    def _move(self) -> None:
        """Wait until some pipe can move, then move what it can: pieces out, answers in."""
        poll = select.poll()
        owner: dict[int, _Worker] = {}
        for worker in self._workers:
            if worker.unsent:
                poll.register(worker.pieces, select.POLLOUT)
                owner[worker.pieces] = worker
            if worker.unanswered:
                poll.register(worker.answers, select.POLLIN)
                owner[worker.answers] = worker
        for fd, _ in poll.poll():
            worker = owner[fd]
            if fd == worker.answers:
                self._receive(worker)
            else:
                self._send(worker)

    def _send(self, worker: _Worker) -> None:
        while worker.unsent:
            chunk = worker.unsent[0]
            try:
                written = os.write(worker.pieces, chunk)
            except BlockingIOError:
                return
            except BrokenPipeError:
                raise _stopped(worker) from None
            if written < len(chunk):
                worker.unsent[0] = chunk[written:]
            else:
                worker.unsent.popleft()

    def _receive(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.answers, _READ)
        except BlockingIOError:
            return
        if not data:
            raise _stopped(worker)
        received = worker.received
        received += data
        while len(received) >= _LENGTH:
            end = _LENGTH + int.from_bytes(received[:_LENGTH], "little")
            if len(received) < end:
                break
            worker.ready.append(bytes(received[_LENGTH:end]))
            del received[:end]
            worker.unanswered -= 1


def _serve(work: Callable[[list[str]], bytes], pieces_fd: int, answers_fd: int) -> int:
    """A worker's life: answer each piece until the parent closes the pipe; the exit status."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it then closes or kills us
    try:
        with open(pieces_fd, "rb") as pieces, open(answers_fd, "wb") as answers:
            while length := pieces.read(_LENGTH):
                lines = pieces.read(int.from_bytes(length, "little")).decode().split("\n")
                answer = work(lines)
                answers.write(len(answer).to_bytes(_LENGTH, "little"))
                answers.write(answer)
                answers.flush()
    except BrokenPipeError:  # the parent stopped reading (its own reader went away): nothing to say
        return 0
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        return 1
    return 0


def _stopped(worker: _Worker) -> WorkerError:
    return WorkerError(f"a classifying worker (process {worker.pid}) stopped before answering")


def _widen(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except (ImportError, AttributeError, OSError):  # not Linux, or above the system's limit: as it is
        pass


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
