"""CLI entry points of the classifier: `gridbot classify` and `gridbot rules eval|suggest`.

Only translation lives here (files and flags in, text out); the logic is in nlp/.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from nlp import Classification, NlpError, RuleClassifier, load_classifier
from nlp.quality.evaluation import evaluate, read_labelled_csv
from nlp.quality.report import format_report
from nlp.quality.suggest import suggest_keywords, to_rules_yaml

DEFAULT_COMMUNITY = Path("deploy/examples/community.yaml")

rules_app = typer.Typer(help="Check and improve the classification rules.", no_args_is_help=True)

CommunityOpt = Annotated[
    Path | None,
    typer.Option("--community", help="Community YAML whose compounds/aliases are recognised as locations."),
]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="Rules YAML (default: the shipped rules).")]


def read_compounds(path: Path | None) -> dict[str, list[str]]:
    """Compound name -> aliases from a community file's `compounds:` list; {} when there is no file."""
    target = path or DEFAULT_COMMUNITY
    if not target.exists():
        if path is not None:
            raise typer.BadParameter(f"{path}: file not found", param_hint="--community")
        return {}
    try:
        data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise typer.BadParameter(
            f"{target}: cannot read community file ({exc})", param_hint="--community"
        ) from exc
    compounds: dict[str, list[str]] = {}
    for item in data.get("compounds") or [] if isinstance(data, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            aliases = item.get("aliases") or []
            compounds[item["name"]] = [str(a) for a in aliases if isinstance(a, str | int)]
    return compounds


def _classifier(community: Path | None, rules: Path | None) -> RuleClassifier:
    try:
        return load_classifier(rules, read_compounds(community))
    except NlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def to_json(result: Classification) -> dict[str, Any]:
    """The documented JSON shape of one classification."""
    loc = result.location
    return {
        "category": result.category.value,
        "priority": result.priority.value,
        "location": {"compound": loc.compound, "building": loc.building, "unit": loc.unit, "room": loc.room},
        "keywords": list(result.keywords),
        "confidence": result.confidence,
    }


def classify_command(community: CommunityOpt = None, rules: RulesOpt = None) -> None:
    """Classify messages read one per line from stdin; write one JSON object per line to stdout."""
    classifier = _classifier(community, rules)
    for line in sys.stdin:
        result = classifier.classify(line.rstrip("\r\n"))
        # One line per input line, flushed, so a caller can pipe messages in and read answers as they come.
        sys.stdout.write(json.dumps(to_json(result), ensure_ascii=False) + "\n")
        sys.stdout.flush()


@rules_app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="CSV with text,label (optional compound,building,unit,room).")],
    rules: RulesOpt = None,
    community: CommunityOpt = None,
    max_misclassified: Annotated[int | None, typer.Option(help="Show at most this many errors.")] = None,
    min_accuracy: Annotated[float, typer.Option(help="Exit 1 when accuracy is below this.")] = 0.0,
    min_macro_f1: Annotated[float, typer.Option(help="Exit 1 when macro-F1 is below this.")] = 0.0,
) -> None:
    """Print precision/recall/F1 per category, a confusion matrix and the misclassified lines."""
    classifier = _classifier(community, rules)
    try:
        rows = read_labelled_csv(file)
    except NlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    report = evaluate(
        rows,
        lambda text: classifier.classify(text).category.value,
        locate=classifier.locator.extract,
        labels=[c.name for c in classifier.rules.categories],
    )
    typer.echo(format_report(report, max_misclassified))
    if report.accuracy < min_accuracy or report.macro_f1 < min_macro_f1:
        typer.echo("below the required thresholds", err=True)
        raise typer.Exit(1)


@rules_app.command("suggest")
def suggest_command(
    file: Annotated[Path, typer.Argument(help="CSV with text,label columns.")],
    top: Annotated[
        int, typer.Option(help="Keywords proposed per label (the average, with --scale-by-size).")
    ] = 20,
    min_count: Annotated[int, typer.Option(help="Minimum messages of a label containing the word.")] = 2,
    max_weight: Annotated[float, typer.Option(help="Upper bound of the proposed weights.")] = 3.0,
    phrases: Annotated[
        bool, typer.Option(help="Also propose two adjacent words as one phrase (市教育局).")
    ] = True,
    scale_by_size: Annotated[
        bool, typer.Option(help="Give each label a number of keywords proportional to its messages.")
    ] = False,
    community: CommunityOpt = None,
) -> None:
    """Propose keywords per label mined from labelled messages, as a rules YAML to review and paste."""
    classifier = _classifier(community, None)
    try:
        rows = read_labelled_csv(file)
    except NlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if top < 1 or min_count < 1 or max_weight <= 0:
        typer.echo("error: --top and --min-count must be at least 1, --max-weight positive", err=True)
        raise typer.Exit(2)
    suggestions = suggest_keywords(
        ((r.text, r.label) for r in rows),
        classifier.tokenizer.cut,
        top,
        min_count,
        max_weight=max_weight,
        phrases=phrases,
        scale_by_size=scale_by_size,
    )
    priorities = {c.name: c.priority for c in classifier.rules.categories}
    typer.echo(to_rules_yaml(suggestions, priorities), nl=False)
