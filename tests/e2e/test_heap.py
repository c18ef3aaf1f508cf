"""`gridbot run` moves what it built at start-up (the rules, jieba's dictionary, pypinyin's table, the model)
out of the garbage collector's sight: each full collection walked it all, 67-276 ms with the event loop
held, under load (bench-bot's paced p99 tail)."""

from __future__ import annotations

import gc
from pathlib import Path

from tests.e2e.gridbot_harness import running_bot, shared_classifier
from tools.emulator.server import Emulator


async def test_the_running_bot_freezes_its_start_up_heap(emu: Emulator, tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        async with running_bot(emu, tmp_path, "aiogram", shared_classifier(), freeze_heap=True) as bot:
            assert bot.runner.ready.is_set()
            assert gc.get_freeze_count() > 100_000  # the classifier's tables among them
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
