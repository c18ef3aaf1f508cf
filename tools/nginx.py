"""A throwaway nginx prefix around one site file: the deploy test and bench-load run the real nginx with it.

conf = nginx_prefix(tmp / "nginx", site_text)
subprocess.Popen(nginx_command(nginx, conf))    # `daemon off;`: stays in the foreground, stop() it
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["nginx_command", "nginx_prefix"]


def nginx_prefix(prefix: Path, site: str, *, connections: int = 64) -> Path:
    """Write `site` (server/upstream blocks) into `prefix` with a minimal nginx.conf including it, every
    temporary path and the pid inside `prefix`; returns the nginx.conf path."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "gridbot.conf").write_text(site, encoding="utf-8")
    temp = {name: prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections {connections}; }}
http {{
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {prefix}/gridbot.conf;
}}
""",
        encoding="utf-8",
    )
    return conf


def nginx_command(nginx: str, conf: Path) -> list[str]:
    """The command line serving `conf` (add "-t" to only check it)."""
    return [nginx, "-c", str(conf), "-p", str(conf.parent), "-e", str(conf.parent / "error.log")]
