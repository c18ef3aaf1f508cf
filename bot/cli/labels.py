"""`gridbot nlp labels export`, and the stored labels read for `rules suggest --from-db` and `nlp train --with-db`.

Registered by bot/cli/nlp.py as `nlp_app.add_typer(labels_app, name="labels")`. The logic (masking, escaping,
the latest label per text) is in handlers/labels/export.py.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.report import database_env
from handlers.labels.export import examples, stored_labels, write_csv
from handlers.labels.model import ClassificationLabel

labels_app = typer.Typer(
    help="The community's labelled examples: residents' choices and handlers' corrections.",
    no_args_is_help=True,
)


async def _stored() -> list[ClassificationLabel]:
    async with database_env() as env, env.uow_factory() as uow:
        return await stored_labels(uow)


def stored_examples() -> list[tuple[str, str]]:
    """(text, label) pairs from the database (GRIDBOT_DATABASE_URL): the latest label per text, phones masked."""
    return examples(asyncio.run(_stored()))


@labels_app.command("export")
def export_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write this CSV file (default: standard output).")
    ] = None,
) -> None:
    """Write every stored label as CSV: text,label,source,created_at (phone numbers in the text masked,
    formula-looking cells escaped for spreadsheets)."""
    labels = asyncio.run(_stored())
    if out is None:
        write_csv(labels, sys.stdout)
        return
    with out.open("w", encoding="utf-8-sig", newline="") as stream:
        count = write_csv(labels, stream)
    typer.echo(f"{out}: {count} label(s)")
