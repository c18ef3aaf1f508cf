"""CLI entry points of the classifier: `gridbot classify`, `gridbot rules eval|suggest`, `gridbot nlp train`.

Only translation lives here (files and flags in, text out); the logic is in nlp/. `gridbot classify`
normally runs from bot/cli/classify.py without importing typer; this module is its --help and its tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.classify import (
    DEFAULT_COMMUNITY,
    NO_COMMUNITY,
    ClassifyError,
    build_classifier,
    community_file,
    default_jobs,
    run,
)
from bot.cli.labels import labels_app
from nlp import NlpError, RuleClassifier
from nlp.classifier import DEFAULT_MODEL
from nlp.quality.compare import compare, format_comparison
from nlp.quality.evaluation import LabelledRow, evaluate, read_labelled_csv
from nlp.quality.report import format_report
from nlp.quality.suggest import suggest_keywords, to_rules_yaml

rules_app = typer.Typer(help="Check and improve the classification rules.", no_args_is_help=True)

CommunityOpt = Annotated[
    Path | None,
    typer.Option("--community", help="Community YAML whose compounds/aliases are recognised as locations."),
]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="Rules YAML (default: the shipped rules).")]
ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", help="Learned model file (default: the shipped nlp/data/model.bin).", show_default=False
    ),
]


def _classifier(community: Path | None, rules: Path | None, model: Path | None = None) -> RuleClassifier:
    try:
        return build_classifier(community, rules, model, DEFAULT_COMMUNITY)
    except ClassifyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def classify_command(
    community: CommunityOpt = None,
    rules: RulesOpt = None,
    model: ModelOpt = DEFAULT_MODEL,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Rules alone, without the learned model.")
    ] = False,
    all_votes: Annotated[
        bool, typer.Option("--all-votes", help="Ask the model on every message to show its vote (slower).")
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", help="Worker processes for a long input (default 0: one per CPU; 1: no workers)."
        ),
    ] = 0,
) -> None:
    """Classify messages read one per line from stdin; write one JSON object per line to stdout.

    Each object holds the combined answer, the rules' category and the learned model's vote (null when
    the rules were sure and the model could not have raised an emergency).
    """
    classifier = _classifier(community, rules, None if no_model else model)
    if community_file(community, DEFAULT_COMMUNITY) is None:
        typer.echo(NO_COMMUNITY, err=True)
    run(classifier, sys.stdin.buffer, sys.stdout, all_votes, jobs if jobs > 0 else default_jobs())


@rules_app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="CSV with text,label (optional compound,building,unit,room).")],
    rules: RulesOpt = None,
    community: CommunityOpt = None,
    max_misclassified: Annotated[int | None, typer.Option(help="Show at most this many errors.")] = None,
    min_accuracy: Annotated[float, typer.Option(help="Exit 1 when accuracy is below this.")] = 0.0,
    min_macro_f1: Annotated[float, typer.Option(help="Exit 1 when macro-F1 is below this.")] = 0.0,
    compare_model: Annotated[
        bool,
        typer.Option(
            "--compare", help="Also compare rules alone, the learned model alone and the two combined."
        ),
    ] = False,
    model: ModelOpt = DEFAULT_MODEL,
) -> None:
    """Print precision/recall/F1 per category, a confusion matrix and the misclassified lines (rules
    alone; with --compare, also the learned model and the combination)."""
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
    if compare_model:
        typer.echo("")
        typer.echo(_comparison(classifier, rows, file, model))
    if report.accuracy < min_accuracy or report.macro_f1 < min_macro_f1:
        typer.echo("below the required thresholds", err=True)
        raise typer.Exit(1)


def _comparison(classifier: RuleClassifier, rows: list[LabelledRow], file: Path, model: Path) -> str:
    try:
        classifier.use_model(model)
    except NlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    opinion = classifier.second_opinion
    assert opinion is not None  # use_model() set it
    opinion.always = True  # the model's own vote on every message, for "model alone"
    labels = [c.name for c in classifier.rules.categories]
    figures = compare(rows, lambda text: classifier.classify_by_rules(text)[0], classifier.classify, labels)
    sources = opinion.model.meta.get("sources") or {}
    note = (
        f"note: {file.name} is one of the model's training sets, so its model and combined figures are not a test"
        if file.name in sources
        else ""
    )
    return format_comparison(figures, note)


@rules_app.command("suggest")
def suggest_command(
    file: Annotated[Path | None, typer.Argument(help="CSV with text,label columns.")] = None,
    from_db: Annotated[
        bool,
        typer.Option(
            "--from-db", help="Mine the labels stored in the database (residents' choices, corrections)."
        ),
    ] = False,
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
    """Propose keywords per label mined from labelled messages (a CSV file, or --from-db the community's
    stored labels), as a rules YAML to review and paste."""
    if (file is None) == (not from_db):
        typer.echo("error: give a CSV file or --from-db (one of them)", err=True)
        raise typer.Exit(2)
    classifier = _classifier(community, None)
    if file is not None:
        try:
            pairs = [(r.text, r.label) for r in read_labelled_csv(file)]
        except NlpError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    else:
        from bot.cli.labels import stored_examples

        pairs = stored_examples()
        typer.echo(f"# mined from {len(pairs)} stored label(s)")
    if top < 1 or min_count < 1 or max_weight <= 0:
        typer.echo("error: --top and --min-count must be at least 1, --max-weight positive", err=True)
        raise typer.Exit(2)
    suggestions = suggest_keywords(
        pairs,
        classifier.tokenizer.cut,
        top,
        min_count,
        max_weight=max_weight,
        phrases=phrases,
        scale_by_size=scale_by_size,
    )
    priorities = {c.name: c.priority for c in classifier.rules.categories}
    typer.echo(to_rules_yaml(suggestions, priorities), nl=False)


nlp_app = typer.Typer(help="The learned second opinion of the classifier.", no_args_is_help=True)
nlp_app.add_typer(labels_app, name="labels")
# The shipped labelled sets live in the source checkout, next to the tests that gate on them.
SETS_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
DB_SOURCE = "community labels (database)"  # how the stored labels are named in the model's sources
# The emergency policy, chosen on the dev sets (dev_nearmiss.csv + dev_styles.csv, which never train the
# model): emergency recall 0.985, precision 0.971, 5.1 all-staff alarms per 1,000 (README, classifier).
DEMOTE_BELOW = 0.20
EMERGENCY_AT = 0.60


@nlp_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the model file.")] = DEFAULT_MODEL,
    extra: Annotated[
        list[Path] | None,
        typer.Option("--extra", help="More labelled messages: a CSV with text,label columns (repeatable)."),
    ] = None,
    sets_dir: Annotated[
        Path, typer.Option("--sets-dir", help="Folder holding the shipped training sets.")
    ] = SETS_DIR,
    with_db: Annotated[
        bool,
        typer.Option(
            "--with-db",
            help="Also learn from the community's stored labels (residents' choices and corrections), read "
            "from the database GRIDBOT_DATABASE_URL names.",
        ),
    ] = False,
    community: CommunityOpt = None,
    rules: RulesOpt = None,
    model_leads: Annotated[
        bool,
        typer.Option(
            "--model-leads/--rules-lead",
            help="Model leads (the shipped choice, made on dev_styles.csv: accuracy 0.949 against 0.869): the "
            "model's label wherever it knows the message, the rules keep their emergencies. --rules-lead: the "
            "rules decide and the model only where they are unknown or unsure.",
        ),
    ] = True,
    demote_below: Annotated[
        float,
        typer.Option(
            "--demote-below",
            min=0.0,
            max=1.0,
            help="The model may turn a rules' emergency into its own label, kept as a *possible* emergency "
            "(advice and the question at once, only the all-staff alert waits), when it votes for another "
            "label and its emergency probability is below this. 0: never. The shipped value was chosen on "
            "the dev sets (README, classifier section).",
        ),
    ] = DEMOTE_BELOW,
    emergency_at: Annotated[
        float,
        typer.Option(
            "--emergency-at",
            min=0.0,
            max=1.0,
            help="The probability the model needs to name the emergency category where the rules did not "
            "(below it the rules' label stays and the message is a *possible* emergency). The shipped value "
            "was chosen on the dev sets.",
        ),
    ] = EMERGENCY_AT,
) -> None:
    """Retrain the learned model from the shipped sets (--extra files, and with --with-db the community's
    stored labels) and write the model file.

    Settings and thresholds are chosen by cross-validation on these examples only; dev_styles.csv and
    the blind sets never train it. The bot reads the file at start (GRIDBOT_NLP_MODEL_FILE).
    """
    from nlp.learned.opinion import rules_view
    from nlp.learned.pipeline import FOLDS, SHIPPED_SETS, train_model
    from nlp.learned.store import dump_model
    from nlp.learned.train import Example

    classifier = _classifier(community, rules)  # rules alone: the thresholds are set against them
    categories = {c.name for c in classifier.rules.categories}
    examples: list[Example] = []
    sources: dict[str, int] = {}
    for path in [*(sets_dir / name for name in SHIPPED_SETS), *(extra or [])]:
        try:
            rows = read_labelled_csv(path)
        except NlpError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        strange = sorted({r.label for r in rows} - categories)
        if strange:
            typer.echo(f"error: {path}: unknown label(s) {', '.join(strange)}", err=True)
            raise typer.Exit(2)
        kept = [Example(r.text, r.label) for r in rows if r.text]
        examples.extend(kept)
        sources[path.name] = len(kept)
        typer.echo(f"{path}: {len(kept)} examples")
    if with_db:
        from bot.cli.labels import stored_examples

        stored = stored_examples()
        strange = sorted({label for _, label in stored} - categories)
        if strange:
            typer.echo(f"error: stored labels: unknown label(s) {', '.join(strange)}", err=True)
            raise typer.Exit(2)
        examples.extend(Example(text, label) for text, label in stored)
        sources[DB_SOURCE] = len(stored)
        typer.echo(f"{DB_SOURCE}: {len(stored)} examples")
    by_rules = {ex.text: classifier.classify_by_rules(ex.text) for ex in examples}
    try:
        result = train_model(
            examples,
            classifier.tokenizer.cut_all,
            lambda text: rules_view(by_rules[text][0]),
            sources=sources,
            read=lambda text: by_rules[text][1],  # what the rules read is what the model reads
            model_leads=model_leads,
            demote_below=demote_below,
            emergency_at=emergency_at,
        )
    except ImportError as exc:
        typer.echo(f"error: training needs scikit-learn: pip install 'gridbot[train]' ({exc})", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for params, figures in result.param_figures.items():
        typer.echo(f"  cross-validated {params}: {figures}")
    if result.model_cv is not None:
        typer.echo(f"model alone, {FOLDS}-fold cross-validated on these examples: {result.model_cv}")
    if result.rules_cv is not None and result.combined_cv is not None:
        typer.echo(f"combined, the same folds: {result.combined_cv}")
        typer.echo(f"rules alone on these examples (they were written from them): {result.rules_cv}")
    policy = result.policy
    typer.echo(
        f"chosen: {result.params}; the model decides where the rules say unknown when its probability "
        f"reaches {policy.decide_at}, replaces their label when their confidence is below "
        f"{policy.rules_unsure_below} and its probability reaches {policy.override_at}, and raises a "
        f"possible emergency from {policy.raise_at}; it demotes a rules' emergency to possible below an "
        f"emergency probability of {policy.demote_below} and names an emergency from {policy.emergency_at}"
    )
    dump_model(result.model, out)
    typer.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(examples)} examples)")
