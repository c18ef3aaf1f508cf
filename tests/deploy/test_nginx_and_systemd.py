"""The proxy config under the real nginx (`nginx -t`, then serving on loopback) and the systemd unit under
`systemd-analyze verify`. Skipped, with the reason, when the tool is not installed
(`apt-get install -y nginx-light openssl`; systemd-analyze comes with systemd)."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tools.nginx import nginx_command as serving
from tools.nginx import nginx_prefix

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "gridbot.conf"
UNIT = ROOT / "deploy" / "systemd" / "gridbot.service"
DESK_UNIT = ROOT / "deploy" / "systemd" / "gridbot-web.service"
DESK_HOST = "desk.example.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def tool(name: str, *alternatives: str) -> str:
    for candidate in (name, *alternatives):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip(f"{name} is not installed (apt-get install -y nginx-light openssl; .ci/run installs them)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_tree(tmp_path: Path, listen_port: int, upstream_port: int, desk_port: int | None = None) -> Path:
    """A throwaway nginx prefix: a minimal nginx.conf including a copy of deploy/nginx/gridbot.conf whose
    replicas point at loopback, with a self-signed certificate. Returns the nginx.conf path."""
    openssl = tool("openssl")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = NGINX_CONF.read_text(encoding="utf-8")
    site = re.sub(r"gridbot-[12]:8080", f"127.0.0.1:{upstream_port}", site)
    site = site.replace("desk:8088", f"127.0.0.1:{desk_port or upstream_port}")
    site = site.replace("/etc/nginx/certs/", f"{certs}/")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen_port} ssl;")  # both servers
    return nginx_prefix(tmp_path, site)


def nginx_command(conf: Path) -> list[str]:
    return serving(tool("nginx", "/usr/sbin/nginx"), conf)


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    conf = nginx_tree(tmp_path, free_port(), free_port())
    result = subprocess.run([*nginx_command(conf), "-t"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


@dataclass
class Replica:
    """A stand-in for a gridbot replica: records what reaches it."""

    port: int
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    peers: list[int] = field(default_factory=list)  # the port nginx connected from, for each request


@pytest.fixture
async def replica() -> AsyncIterator[Replica]:
    async for stub in _stub():
        yield stub


@pytest.fixture
async def desk() -> AsyncIterator[Replica]:
    """A stand-in for `gridbot web`."""
    async for stub in _stub():
        yield stub


async def _stub() -> AsyncIterator[Replica]:
    stub = Replica(free_port())

    async def anything(request: web.Request) -> web.Response:
        stub.seen.append((request.method, request.path, request.headers.get(SECRET_HEADER)))
        assert request.transport is not None
        stub.peers.append(int(request.transport.get_extra_info("peername")[1]))
        return web.Response(text="replica")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stub.port).start()
    yield stub
    await runner.cleanup()


async def test_nginx_forwards_the_webhook_and_keeps_the_rest_closed(
    tmp_path: Path, replica: Replica, desk: Replica
) -> None:
    listen = free_port()
    conf = nginx_tree(tmp_path, listen, replica.port, desk.port)
    process = await asyncio.create_subprocess_exec(
        *nginx_command(conf),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # the throwaway self-signed certificate
        base = f"https://127.0.0.1:{listen}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as client:
            for _ in range(100):  # nginx needs a moment to listen
                try:
                    async with client.get(f"{base}/") as response:
                        status = response.status
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("nginx did not start")
            assert status == 404  # nothing but the webhook and the health endpoints
            headers = {SECRET_HEADER: "s3cret"}
            for update_id in (1, 2):
                async with client.post(
                    f"{base}/telegram", json={"update_id": update_id}, headers=headers
                ) as response:
                    assert response.status == 200
            async with client.get(f"{base}/telegram") as response:
                assert response.status == 403  # POST only
            async with client.get(f"{base}/readyz") as response:
                assert response.status == 200  # from loopback: an internal network, allowed
            async with client.get(f"{base}/metrics") as response:
                assert response.status == 200
            # The desk answers for its own host name only, with the client's address passed on.
            async with client.get(f"{base}/orders", headers={"Host": DESK_HOST}) as response:
                assert response.status == 200
            async with client.get(f"{base}/orders") as response:
                assert response.status == 404
        assert ("POST", "/telegram", "s3cret") in replica.seen  # the secret header passes through
        assert [path for _, path, _ in replica.seen] == ["/telegram", "/telegram", "/readyz", "/metrics"]
        # The second webhook request came over the first one's connection (upstream keepalive).
        assert replica.peers[0] == replica.peers[1]
        assert [path for _, path, _ in desk.seen] == ["/orders"]
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            await process.wait()


@pytest.mark.parametrize("source", [UNIT, DESK_UNIT], ids=["bot", "desk"])
def test_systemd_unit_verifies(tmp_path: Path, source: Path) -> None:
    analyze = tool("systemd-analyze")
    gridbot = Path(sys.executable).with_name("gridbot")
    assert gridbot.is_file()
    unit = tmp_path / source.name
    unit.write_text(source.read_text(encoding="utf-8").replace("/opt/gridbot/bin/gridbot", str(gridbot)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert source.name not in result.stderr, result.stderr  # no warning about our unit

    # The check has teeth: a typo and a missing executable are reported.
    broken = tmp_path / "broken.service"
    broken.write_text(
        unit.read_text().replace("Type=exec", "Type=exce").replace(str(gridbot), "/nowhere/gridbot")
    )
    result = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "/nowhere/gridbot" in result.stderr


def test_systemd_unit_runs_the_webhook_after_migrating() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    assert "ExecStartPre=/opt/gridbot/bin/gridbot db upgrade" in unit
    assert "ExecStart=/opt/gridbot/bin/gridbot run --webhook" in unit
    assert "User=gridbot" in unit
    assert "EnvironmentFile=/etc/gridbot/gridbot.env" in unit
    assert "Environment=GRIDBOT_BROADCAST_CAMPAIGNS_DIR=/opt/gridbot/campaigns" in unit
    assert "cp -r deploy/campaigns /opt/gridbot/campaigns" in unit  # and the header says to put it there


def test_the_desk_unit_runs_gridbot_web_beside_the_bot() -> None:
    unit = DESK_UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/gridbot/bin/gridbot web" in unit
    assert "After=network-online.target postgresql.service gridbot.service" in unit  # migrated first
    assert "User=gridbot" in unit
    assert "EnvironmentFile=/etc/gridbot/gridbot.env" in unit


def test_bench_load_serves_the_deployed_webhook_site(tmp_path: Path) -> None:
    """bench-load's proxy is deploy/nginx/gridbot.conf's own webhook server and upstream (plain HTTP on
    loopback): nginx accepts it, with every replica and the shipped forwarding rules."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from front import nginx_site  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    site = nginx_site([free_port(), free_port()], free_port())
    assert site.count("server 127.0.0.1:") == 2
    assert "proxy_next_upstream error timeout http_502 http_503;" in site
    assert "ssl" not in site
    conf = nginx_prefix(tmp_path, site)
    result = subprocess.run([*nginx_command(conf), "-t"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
