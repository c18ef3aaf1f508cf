"""deploy/compose.yaml and deploy/Dockerfile, checked without Docker (which cannot run on these machines):
the compose file parses and wires what README promises, the Dockerfile runs as an unprivileged user, copies
files that exist and points the settings at where it put them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import env_names

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
REPLICAS = ("gridbot-1", "gridbot-2")
# Files an operator creates from an example before `docker compose up` (see the compose file's header).
OPERATOR_FILES = {"gridbot.env": "gridbot.env.example", "community.yaml": "examples/community.yaml"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # merge keys (<<) resolved by the loader
    assert isinstance(data, dict)
    return data


def test_compose_has_the_services_of_a_replicated_deployment(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", *REPLICAS, "desk", "proxy"}
    images = {services[name]["image"] for name in (*REPLICAS, "migrate")}
    builds = {yaml.safe_dump(services[name]["build"]) for name in (*REPLICAS, "migrate")}
    assert len(images) == 1  # the same image for both replicas and the migration
    assert len(builds) == 1
    assert services["gridbot-1"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (COMPOSE.parent / services["gridbot-1"]["build"]["context"] / "deploy/Dockerfile").is_file()
    # Distinct host names: each replica's claims carry its own name.
    assert {services[name]["hostname"] for name in REPLICAS} == set(REPLICAS)
    for name in REPLICAS:
        command = services[name].get("command")
        assert command is None  # the image's CMD: gridbot run --webhook
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    migrate = " ".join(services["migrate"]["command"])
    assert "gridbot db upgrade" in migrate
    assert "gridbot org import /srv/gridbot/community.yaml" in migrate
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_compose_settings_are_real_settings_and_point_at_the_services(compose: dict[str, Any]) -> None:
    known = set(env_names())
    replica = compose["services"]["gridbot-1"]
    environment = replica["environment"]
    assert set(environment) <= known
    assert "@postgres:5432/" in environment["GRIDBOT_DATABASE_URL"]
    assert environment["GRIDBOT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environment["GRIDBOT_REDIS_URL"] == "redis://redis:6379/0"
    assert "${POSTGRES_PASSWORD:?" in environment["GRIDBOT_DATABASE_URL"]  # refuses to start without it
    # The env file it names is made from the example beside it.
    assert replica["env_file"] == "gridbot.env"
    assert (DEPLOY / OPERATOR_FILES["gridbot.env"]).is_file()


def test_compose_runs_the_desk_as_its_own_process_on_the_same_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    desk, replica = services["desk"], services["gridbot-1"]
    assert desk["image"] == replica["image"]
    assert desk["command"] == ["gridbot", "web"]
    environment = desk["environment"]
    assert set(environment) <= set(env_names())
    for name in ("GRIDBOT_DATABASE_URL", "GRIDBOT_REDIS_URL"):
        assert environment[name] == replica["environment"][name]
    assert environment["GRIDBOT_WEB_HOST"] == "0.0.0.0"  # noqa: S104  (the compose network; not published)
    assert str(environment["GRIDBOT_WEB_PORT"]) == "8088"
    assert desk["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "desk" in services["proxy"]["depends_on"]
    nginx = (DEPLOY / "nginx" / "gridbot.conf").read_text(encoding="utf-8")
    assert f"server desk:{environment['GRIDBOT_WEB_PORT']};" in nginx


def test_compose_mounts_exist_or_come_from_an_example(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name}: unknown named volume {source}"
                continue
            relative = source.removeprefix("./")
            if relative in OPERATOR_FILES:
                assert (DEPLOY / OPERATOR_FILES[relative]).exists()
            elif relative == "certs":
                continue  # the operator's TLS certificate (see the compose header)
            else:
                assert (DEPLOY / relative).exists(), f"{name}: {source} does not exist"
    proxy = compose["services"]["proxy"]
    assert "./nginx/gridbot.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert proxy["ports"] == ["443:443"]  # only the proxy is published
    for name in (*REPLICAS, "desk", "postgres", "redis"):
        assert "ports" not in compose["services"][name]


# ------------------------------------------------------------------------------------------- Dockerfile


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    values = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                values[key] = value
    return values


def test_two_stages_and_an_unprivileged_runtime_user() -> None:
    build, runtime = stages()
    assert build[0][1].endswith("AS build")
    assert runtime[0][1].endswith("AS runtime")
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage must switch to a user"
    assert users[-1] not in ("root", "0", "0:0")
    assert any(keyword == "RUN" and "useradd --system" in rest for keyword, rest in runtime)
    # Nothing the user runs is installed in the runtime stage: the venv comes built from the first stage.
    assert ("COPY", "--from=build /opt/gridbot /opt/gridbot") in runtime


def test_every_copy_source_exists() -> None:
    copies = [rest for keyword, rest in instructions() if keyword == "COPY" and not rest.startswith("--from")]
    assert copies
    for rest in copies:
        *sources, _destination = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"


def test_the_settings_point_where_the_files_were_copied() -> None:
    _build, runtime = stages()
    env = env_of(runtime)
    copied = {}
    for keyword, rest in runtime:
        if keyword == "COPY" and not rest.startswith("--from"):
            source, destination = shlex.split(rest)
            copied[source] = destination
    assert env["GRIDBOT_BROADCAST_CAMPAIGNS_DIR"] == copied["deploy/campaigns"]
    assert env["GRIDBOT_COMMUNITY_FILE"] == copied["deploy/examples"] + "/community.yaml"
    assert set(k for k in env if k.startswith("GRIDBOT_")) <= set(env_names())
    # The webhook listens on all interfaces of the container, on the port the health check asks.
    assert env["GRIDBOT_WEBHOOK_HOST"] == "0.0.0.0"
    port = env["GRIDBOT_WEBHOOK_PORT"]
    assert ("EXPOSE", port) in runtime
    (healthcheck,) = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck
    assert ("CMD", '["gridbot", "run", "--webhook"]') in runtime
