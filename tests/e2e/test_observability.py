"""/healthz, /readyz and /metrics of the real bot: on their own port when polling, on the webhook's port
in webhook mode; the counters move with what residents and Telegram do."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from tests.driver import MEMBER_LI, RESIDENT_ZHANG
from tests.e2e.gridbot_harness import running_bot, shared_classifier
from tools.emulator.server import Emulator
from tools.loopback import free_port


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the Prometheus text format (0 when absent)."""
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    wanted = f"{name}{{{label_text}}}" if labels else name
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == wanted:
            return float(value)
    return 0.0


async def get(client: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with client.get(url) as response:
        return response.status, await response.text()


async def test_polling_mode_serves_health_and_counts_updates_orders_and_deliveries(
    emu: Emulator, tmp_path: Path
) -> None:
    async with running_bot(emu, tmp_path, "aiogram", shared_classifier()) as bot:
        port = bot.runner.health_port
        assert port is not None
        assert port != 9090  # the harness asks for a free port
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as client:
            assert await get(client, f"{base}/healthz") == (200, '{"status": "ok"}')
            status, body = await get(client, f"{base}/readyz")
            assert status == 200, body
            assert '"ready": true' in body

            emu.inject_429("sendMessage", retry_after=1, chat_id=RESIDENT_ZHANG)
            emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了，晚上看不见")
            confirmation = await emu.wait_for_message(RESIDENT_ZHANG, timeout=10)
            assert "已为您生成工单" in (confirmation.text or "")
            await emu.wait_for_message(MEMBER_LI)
            emu.block(MEMBER_LI)
            emu.user_sends_command(MEMBER_LI, "orders")  # the answer cannot be delivered: 403
            # Wait for the refused send itself: the command must have been fetched and handled first.
            await emu.wait_for_request(
                "sendMessage",
                lambda r: str(r.params.get("chat_id")) == str(MEMBER_LI) and r.error_code == 403,
                timeout=10,
            )
            await bot.idle(within=10)

            status, metrics = await get(client, f"{base}/metrics")
        assert status == 200
        assert sample(metrics, "gridbot_updates_handled_total", kind="text") == 1
        assert sample(metrics, "gridbot_updates_handled_total", kind="command") == 1
        assert sample(metrics, "gridbot_orders_opened_total", category="repair") == 1
        assert sample(metrics, "gridbot_handler_latency_seconds_count") == 2
        assert sample(metrics, "gridbot_telegram_rate_limited_total", queue="outbox") == 1
        assert sample(metrics, "gridbot_deliveries_total", queue="outbox", outcome="unreachable") == 1
        sent = sample(metrics, "gridbot_deliveries_total", queue="outbox", outcome="sent")
        assert sent == len([r for r in await bot.outbox() if r.status == "sent"])
        assert sent >= 2  # the resident's confirmation and the member's card
        # Labels are kinds and categories, never chat ids or texts.
        assert str(RESIDENT_ZHANG) not in metrics
        assert "楼道灯" not in metrics
    # Stopped: nothing listens any more.
    async with aiohttp.ClientSession() as client:
        try:
            await get(client, f"{base}/healthz")
        except aiohttp.ClientConnectionError:
            pass
        else:
            raise AssertionError("the health server still answers after stop")


async def test_webhook_mode_serves_them_on_the_webhook_port(emu: Emulator, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    async with running_bot(
        emu,
        tmp_path,
        "ptb",
        shared_classifier(),
        webhook=True,
        webhook_port=port,
        webhook_url=url,
        webhook_secret="s3cret-token_1",
    ) as bot:
        assert bot.runner.health_port is None  # no second server in webhook mode
        base = f"http://127.0.0.1:{port}"
        emu.user_sends_text(RESIDENT_ZHANG, "5号楼2单元楼道灯坏了")
        await emu.wait_for_message(RESIDENT_ZHANG, timeout=10)
        await bot.idle()
        async with aiohttp.ClientSession() as client:
            assert (await get(client, f"{base}/healthz"))[0] == 200
            status, body = await get(client, f"{base}/readyz")
            assert status == 200, body
            status, metrics = await get(client, f"{base}/metrics")
            assert status == 200
            # The webhook route still wants Telegram's secret.
            async with client.post(f"{base}/telegram", json={"update_id": 99}) as response:
                assert response.status == 403
        assert sample(metrics, "gridbot_updates_handled_total", kind="text") == 1
        assert sample(metrics, "gridbot_orders_opened_total", category="repair") == 1
        assert re.search(r'gridbot_handler_latency_seconds_bucket\{le="\+Inf"\} 1\.0', metrics)
