"""The layout explains itself and stays that way: layers, no import cycles, small modules, small folders."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "nlp", "storage", "tools", "web")
FRAMEWORKS = (
    "aiogram",
    "telegram",
    "sqlalchemy",
    "alembic",
    "aiohttp",
    "asyncpg",
    "aiosqlite",
    "redis",
    "typer",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
)
# APScheduler is allowed in the core: handlers/broadcasts/schedules.py uses its CronTrigger as a pure calculator
# of next fire times (no scheduler, no I/O). The scheduler itself runs in bot/schedule/.
MAX_MODULE_LINES = 400
MAX_MODULES_PER_FOLDER = 15


def _python_files(*tops: str) -> Iterator[Path]:
    for top in tops:
        folder = ROOT / top
        if folder.exists():
            yield from (
                p for p in folder.rglob("*.py") if "migrations" not in p.parts and ".venv" not in p.parts
            )


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every absolute import, including those under TYPE_CHECKING (a cycle there is still a tangle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in _python_files(*PACKAGES)}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("core", ["handlers", "nlp"])
def test_the_core_imports_no_framework_sql_or_entry_code(core: str) -> None:
    forbidden = FRAMEWORKS + ("bot", "storage", "web", "tools", "tests")
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in _python_files(core)
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    )
    assert offenders == []


def test_storage_knows_no_chat_framework_or_entry_code() -> None:
    forbidden = ("aiogram", "telegram", "bot", "web", "tools", "tests")
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in _python_files("storage")
        for name in _imports(path)
        if name.split(".")[0] in forbidden
    )
    assert offenders == []


def test_no_module_over_400_lines() -> None:
    long = sorted(
        f"{path.relative_to(ROOT)}: {n}"
        for path in _python_files(*PACKAGES, "tests", "benchmarks")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    )
    assert long == []


def test_no_folder_holds_more_than_15_modules() -> None:
    folders: dict[Path, int] = {}
    for path in _python_files(*PACKAGES, "tests", "benchmarks"):
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = sorted(f"{p.relative_to(ROOT)}: {n}" for p, n in folders.items() if n > MAX_MODULES_PER_FOLDER)
    assert crowded == []
