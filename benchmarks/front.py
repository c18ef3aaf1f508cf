"""The proxy in front of the replicas in bench-load: the deployment's own nginx site when nginx is installed,
else tools/proxy.py (a Python stand-in that costs the shared two cores several times nginx's CPU an update).

The nginx site is deploy/nginx/gridbot.conf itself, its `/telegram` location and `gridbot_replicas` upstream
as shipped: only the addresses change (the replicas on loopback, plain HTTP on a free port, since the
emulator is not Telegram and TLS would be nginx's cost, not the bot's) and the desk's server is left out.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loadkit import ROOT, stop

from tools.loopback import free_port
from tools.nginx import nginx_command, nginx_prefix

SITE = ROOT / "deploy" / "nginx" / "gridbot.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("/usr/sbin/nginx")


def nginx_site(ports: list[int], listen: int) -> str:
    """deploy/nginx/gridbot.conf's webhook server for replicas on loopback `ports`, plain HTTP on `listen`."""
    text = SITE.read_text(encoding="utf-8")
    upstream = re.search(r"upstream gridbot_replicas \{.*?\n\}\n", text, re.S)
    server = re.search(r"\nserver \{\n.*?\n\}\n", text, re.S)  # the first server: the webhook's
    if upstream is None or server is None:
        raise SystemExit(f"{SITE} no longer has the upstream and server blocks bench-load expects")
    lines = upstream.group(0).splitlines()
    template = next(line for line in lines if line.strip().startswith("server gridbot-"))
    servers = [re.sub(r"gridbot-\d+:8080", f"127.0.0.1:{port}", template) for port in ports]
    kept = [line for line in lines if not line.strip().startswith("server gridbot-")]
    block = "\n".join([kept[0], *servers, *kept[1:]]) + "\n"
    site = "\n".join(
        line
        for line in server.group(0).splitlines()
        if not line.strip().startswith(("ssl_", "server_name"))  # plain HTTP on loopback
    )
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
    return block + site + "\n"


@contextmanager
def nginx_front(ports: list[int], tmp: Path, nginx: str) -> Iterator[str]:
    prefix = tmp / f"nginx-{ports[0]}"
    listen = free_port()
    conf = nginx_prefix(prefix, nginx_site(ports, listen), connections=1024)
    command = nginx_command(nginx, conf)
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, f"nginx rejected the bench's site: {checked.stderr}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # listening once a connection is accepted
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"nginx did not start: see {prefix}/error.log") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{listen}/telegram"
    finally:
        stop(process)


@contextmanager
def python_front(upstreams: list[str], log: Path) -> Iterator[str]:
    """tools/proxy.py in a process of its own (not sharing the load generator's event loop)."""
    with log.open("ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.proxy", *upstreams], cwd=ROOT, stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        assert url, f"the proxy did not start: see {log}"
        yield url
    finally:
        stop(process)


@contextmanager
def front_proxy(ports: list[int], tmp: Path, name: str, kind: str) -> Iterator[str]:
    """The webhook URL in front of replicas on `ports`: `kind` "nginx" or "python"."""
    if kind == "nginx":
        nginx = nginx_binary()
        if nginx is None:
            raise SystemExit("nginx is not installed (apt-get install -y nginx-light); or use --proxy python")
        with nginx_front(ports, tmp, nginx) as url:
            yield url
    else:
        upstreams = [f"http://127.0.0.1:{port}/telegram" for port in ports]
        with python_front(upstreams, tmp / f"{name}-proxy.log") as url:
            yield url
