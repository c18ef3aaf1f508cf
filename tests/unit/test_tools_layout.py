"""Benchmarks stand on the product and tools/, never on the test suite (which may change under them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
# Code handed to a child process as a string: `python -c "from tests... import ..."` or `-m tests.x`.
_TESTS_IN_CODE = re.compile(r"^\s*(?:from|import)\s+tests\b", re.MULTILINE)


def _is_tests_module(name: str) -> bool:
    return name.split(".")[0] == "tests"


def _imports_of_tests(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_tests_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_tests_module(node.module or ""):
            found.append(str(node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if _TESTS_IN_CODE.search(text) or re.fullmatch(r"tests(\.\w+)+", text):
                found.append(f"string {text[:60]!r}")
    return found


def test_benchmarks_never_import_tests() -> None:
    scripts = sorted(BENCHMARKS.glob("*.py"))
    assert len(scripts) >= 5, f"benchmarks not found in {BENCHMARKS}"
    offenders = {
        p.name: found for p in scripts if (found := _imports_of_tests(p.read_text(encoding="utf-8")))
    }
    assert not offenders, f"benchmarks import the test suite (move what they need into tools/): {offenders}"
