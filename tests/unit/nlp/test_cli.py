from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from bot.cli.nlp import classify_command, rules_app
from nlp.rules import parse_rules


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("classify")(classify_command)
    app.add_typer(rules_app, name="rules")
    return app


def _community(tmp_path: Path) -> Path:
    path = tmp_path / "community.yaml"
    path.write_text(
        "compounds:\n  - name: 兴泰小区\n    aliases: [兴泰]\n  - name: 森源华府\n    aliases: [森源]\n",
        encoding="utf-8",
    )
    return path


def test_classify_writes_one_json_line_per_input_line(tmp_path: Path) -> None:
    stdin = "兴泰5号楼2单元501着火了\n\n😀\n燃气费怎么交\n"
    result = CliRunner().invoke(_app(), ["classify", "--community", str(_community(tmp_path))], input=stdin)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    vote = lines[0].pop("model")  # the rules' emergency is shown to the model, which may demote it
    assert vote["category"] == "emergency"
    assert vote["demoted_emergency"] is False
    assert lines[0] == {
        "category": "emergency",
        "priority": "urgent",
        "location": {"compound": "兴泰小区", "building": "5", "unit": "2", "room": "501"},
        "keywords": ["着火"],
        "confidence": 1.0,
        "emergency_level": "certain",
        "decided_by": "rules",
        "rules": {"category": "emergency"},
    }
    assert lines[1]["category"] == lines[2]["category"] == "unknown"
    assert lines[1]["location"] == {"compound": None, "building": None, "unit": None, "room": None}
    assert lines[3]["category"] == "utility_payment"
    assert "兴泰小区" in result.stdout  # ensure_ascii=False: Chinese stays readable


def test_classify_without_community_file_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.cli.nlp.DEFAULT_COMMUNITY", tmp_path / "absent.yaml")
    monkeypatch.setattr("bot.cli.classify.EXAMPLE_COMMUNITY", tmp_path / "absent.yaml")  # not a checkout
    monkeypatch.delenv("GRIDBOT_COMMUNITY_FILE", raising=False)
    result = CliRunner().invoke(_app(), ["classify"], input="兴泰5号楼漏水\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["location"]["compound"] is None
    assert "no community file found" in result.stderr  # said, not silent (issue 15)


def test_classify_reports_bad_rules(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("categories: {repair: {keywords: []}}\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["classify", "--rules", str(bad)], input="x\n")
    assert result.exit_code == 2
    assert "rules.yaml:1: categories.repair.keywords" in result.output


COMMUNITY_RULES = Path(__file__).resolve().parents[3] / "deploy/examples/rules_community.yaml"


def test_classify_and_rules_eval_use_gridbot_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GRIDBOT_RULES_FILE, as the bot reads it (issue 15): a community's own categories included."""
    monkeypatch.setenv("GRIDBOT_RULES_FILE", str(COMMUNITY_RULES))
    result = CliRunner().invoke(_app(), ["classify", "--no-model"], input="暖气不热\n楼下遛狗不拴绳\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["category"], a["priority"]) for a in answers] == [("heating", "high"), ("pets", "normal")]
    data = tmp_path / "msgs.csv"
    data.write_text("text,label\n暖气不热,heating\n楼下遛狗不拴绳,pets\n电梯坏了,repair\n", encoding="utf-8")
    evaluated = CliRunner().invoke(_app(), ["rules", "eval", str(data)])
    assert evaluated.exit_code == 0, evaluated.output
    assert "accuracy  1.000" in evaluated.stdout
    assert any(line.split()[:2] == ["heating", "1.000"] for line in evaluated.stdout.splitlines())


def test_rules_eval_prints_metrics_and_enforces_thresholds(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    data.write_text("text,label\n楼道灯坏了,repair\n着火了,emergency\n嗯嗯嗯,repair\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["rules", "eval", str(data)])
    assert result.exit_code == 0, result.output
    assert "accuracy  0.667" in result.stdout
    assert "confusion matrix" in result.stdout
    assert "[repair -> unknown] 嗯嗯嗯" in result.stdout
    failing = CliRunner().invoke(_app(), ["rules", "eval", str(data), "--min-accuracy", "0.9"])
    assert failing.exit_code == 1


def test_rules_suggest_outputs_loadable_yaml(tmp_path: Path) -> None:
    data = tmp_path / "msgs.csv"
    rows = ["text,label"] + ["小区停车位不够 车没地方停,parking"] * 3 + ["楼道灯又坏了 找人维修,repair"] * 3
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["rules", "suggest", str(data), "--top", "3"])
    assert result.exit_code == 0, result.output
    rules = parse_rules(yaml.safe_load(result.stdout))
    by_name = {c.name: [k.text for k in c.keywords] for c in rules.categories}
    assert set(by_name) == {"parking", "repair"}
    assert len(by_name["parking"]) == 3
    assert "停车位" in by_name["parking"]
