"""The `gridbot` console entry.

`gridbot classify` is answered by bot/cli/classify.py, which imports only nlp/ and PyYAML: a resident's
message classified from a shell or a script should not wait for typer, the settings, SQLAlchemy, the
chat frameworks and the desk to load (about three quarters of a second). Every other command, and
`classify --help`, goes to the typer application in bot/cli/main.py.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["classify"]:
        from bot.cli.classify import fast_main

        code = fast_main(argv[1:], sys.stdin.buffer, sys.stdout, sys.stderr)
        if code is not None:
            _leave(code)
    from bot.cli.main import main as typer_main

    typer_main()


def _leave(code: int) -> None:
    """Exit with `code` once everything written is flushed, without tearing the interpreter down: freeing
    the classifier's tables object by object took ~40 ms (a fifth of the command's start-up). The classify command holds nothing else to close: its workers have been shut down and
    it wrote only to stdout and stderr."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe, say: leave the usual way, which deals with it
        raise SystemExit(code) from None
    os._exit(code)


if __name__ == "__main__":
    main()
