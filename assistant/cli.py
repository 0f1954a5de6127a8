"""The `shopassist` command line: set up the demo shop, serve, train and evaluate models, admin tasks."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Shopassist: a self-hostable customer-service assistant for online shops.",
                  no_args_is_help=True)


@app.command()
def setup(
    quick_model: bool = typer.Option(False, help="train a small intent model (for tests and demos)"),
) -> None:
    """Build the demo shop: schema, catalogue, customers and orders, FAQ, Chroma indexes, models."""
    from assistant.config import get_settings
    from assistant.demo_shop import build_demo_shop

    build_demo_shop(get_settings(), quick_model=quick_model)


@app.command()
def serve(host: str | None = None, port: int | None = None,
          workers: int | None = typer.Option(None, help="worker processes (default SHOPASSIST_WORKERS, 1); "
                                             "more than one needs SHOPASSIST_REDIS_URL and SHOPASSIST_CHROMA_URL"),
          demo: bool = typer.Option(False, help="demo mode: anyone may sign in as a demo customer (never in public)"),
          ) -> None:
    """Run the chat server (widget at /, agent console at /agent/, admin at /admin/)."""
    import logging
    import os

    import uvicorn

    from assistant.app import server_options
    from assistant.config import get_settings
    from assistant.security import InsecureSecretKey, check_secret_key
    from assistant.store.database import upgrade_schema

    # the app factory (in every worker) reads the settings from the environment: pass the options on there
    if demo:
        os.environ["SHOPASSIST_DEMO_MODE"] = "true"
    if host:
        os.environ["SHOPASSIST_HOST"] = host
    get_settings.cache_clear()
    settings = get_settings()
    try:
        check_secret_key(settings.secret_key, settings.host, settings.demo_mode, settings.identity_secret)
    except InsecureSecretKey as e:
        typer.echo(f"shopassist serve: {e}", err=True)
        raise typer.Exit(2) from None
    workers = workers or settings.workers
    if workers > 1:
        missing = [name for name, value in (("SHOPASSIST_REDIS_URL", settings.redis_url),
                                            ("SHOPASSIST_CHROMA_URL", settings.chroma_url)) if not value]
        if missing:
            # without them each process would have its own bus and its own copy of the indexes
            raise typer.BadParameter(f"{workers} workers share a bus and indexes: set {' and '.join(missing)} "
                                     "(see the README, \"Several workers and machines\")", param_hint="--workers")
        upgrade_schema(settings.resolved_database_url)  # once, before the workers start side by side
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:  %(message)s")  # the app's warnings
    uvicorn.run("assistant.app:create_app", factory=True, host=settings.host, port=port or settings.port,
                workers=workers, log_level="info", **server_options(settings))


def _recs_embedder(with_text: bool):
    """MiniLM item vectors through a cache in the state dir (only new or changed texts are embedded)."""
    if not with_text:
        return None
    from assistant.config import get_settings
    from recommender.text_vectors import CachedEmbedder
    from retrieval.embeddings import get_embedder

    def encode(texts):  # loads MiniLM only when some text is not cached yet
        return get_embedder().encode(texts)

    return CachedEmbedder(encode, get_settings().state_dir / "recs_text_vectors.npz")


def _save_text_cache(embed) -> None:
    if embed is not None:
        embed.save()


def _recs_config(cf_model: str | None = None):
    from assistant.config import get_settings
    from recommender.config import RecommenderConfig

    base = RecommenderConfig() if cf_model is None else RecommenderConfig(cf_model=cf_model)
    return get_settings().recs_serving.apply(base)  # evaluated and saved as the server serves it


@app.command("train-intents")
def train_intents(
    quick: bool = typer.Option(False, help="frozen MiniLM + linear probe + neighbours (about a minute)"),
    max_per_intent: int | None = typer.Option(None, help="cap training rows per intent (for experiments)"),
    epochs: float | None = typer.Option(None, help="epochs of the calibration phase"),
    seed: int = typer.Option(13, help="random seed"),
    out: Path | None = typer.Option(None, help="model folder (default: the configured intent model dir)"),
    feedback: bool = typer.Option(True, help="include agent corrections from the labelled_feedback table"),
) -> None:
    """Fine-tune, calibrate and export the intent model; prints the model card's figures."""
    import json

    from assistant.config import get_settings
    from assistant.intent.frozen_member import frozen_encoder_from_settings
    from assistant.intent.training import stored_feedback, train_intent_model

    settings = get_settings()
    card = train_intent_model(out or settings.resolved_intent_model_dir, settings.data_dir, quick=quick,
                              max_per_intent=max_per_intent, epochs=epochs, seed=seed,
                              feedback=stored_feedback(settings) if feedback else (),
                              frozen_encoder=frozen_encoder_from_settings(settings))
    typer.echo(json.dumps({"temperature": card["temperature"], "neighbour_weight": card["neighbour_weight"],
                           "frozen_weight": card["frozen_weight"],
                           "policy": card["policy"], "seconds": card["training"].get("seconds")}))
    typer.echo(json.dumps(card["metrics"], indent=1))


@app.command("eval-intents")
def eval_intents(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON lines with text and intent"),
    through_server: str | None = typer.Option(None, help="base URL of a running chat server (http://host:port)"),
) -> None:
    """Per-intent precision/recall/F1, a confusion-matrix PNG, and as LAST line one JSON summary."""
    from assistant.config import get_settings
    from assistant.intent.cli_report import run_intent_evaluation

    for line in run_intent_evaluation(get_settings(), file, through_server):
        typer.echo(line)


@app.command("eval-dialogues")
def eval_dialogues(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML list of written dialogues"),
    through_server: str | None = typer.Option(None, help="base URL of a running chat server; default: start one here"),
) -> None:
    """Run multi-turn dialogues through the chat server; LAST line: one JSON summary."""
    from assistant.agent.dialogue_eval import run_dialogue_evaluation, serving
    from assistant.config import get_settings

    settings = get_settings()
    with serving(settings, through_server) as base_url:
        for line in run_dialogue_evaluation(settings, file, base_url):
            typer.echo(line)


@app.command("eval-answers")
def eval_answers(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON lines with text and intent"),
    through_server: str | None = typer.Option(None, help="base URL of a running chat server (http://host:port); "
                                              "default: the dialogue graph in this process"),
) -> None:
    """Each row in a fresh session: is the answer from an entry or route made for its intent? LAST line: JSON."""
    from assistant.agent.answer_evaluation import run_answer_evaluation
    from assistant.config import get_settings

    for line in run_answer_evaluation(get_settings(), file, through_server):
        typer.echo(line)


@app.command("fit-answer-margin")
def fit_answer_margin(
    per_intent: int = typer.Option(40, help="Bitext training rows with variation flags per intent"),
    seed: int = typer.Option(13, help="sampling seed"),
) -> None:
    """Measure how much closer an FAQ entry for another intent must be to win over the confident reading's."""
    from assistant.agent.margin_fitting import run_margin_fitting
    from assistant.config import get_settings

    for line in run_margin_fitting(get_settings(), per_intent, seed):
        typer.echo(line)


@app.command("eval-oos")
def eval_oos(
    probe: list[Path] = typer.Option([], help="labelled JSONL files to report on too (their off-topic rows and "
                                      "their in-scope rows apart)"),
) -> None:
    """Off-topic recall and in-scope fallback, set by set: the policy, the out-of-scope score, either. LAST line:
    JSON."""
    from assistant.config import get_settings
    from assistant.intent.oos_evaluation import run_oos_evaluation

    for line in run_oos_evaluation(get_settings(), probe):
        typer.echo(line)


@app.command("train-recs")
def train_recs(
    dataset: Path | None = typer.Option(None, help="train on a data-set folder instead of the SQL store"),
    cf_model: str = typer.Option("cooccurrence", help="cooccurrence | ease | als"),
    text: bool = typer.Option(True, help="fuse item text embeddings (MiniLM)"),
) -> None:
    """Train the recommender (SQL store by default) and save it to the state dir."""
    import time

    from assistant.config import get_settings
    from recommender.data import read_dataset
    from recommender.service import Recommender

    settings, config, start = get_settings(), _recs_config(cf_model), time.perf_counter()
    embed = _recs_embedder(text)
    if dataset is None:
        model = Recommender.fit_from_sql(settings.resolved_database_url, embed, config, progress=typer.echo)
    else:
        data = read_dataset(dataset, config.description_chars)
        model = Recommender.fit(data.items, data.interactions, embed, config, data.validation,
                                progress=typer.echo, catalogue_name=dataset.name)
    model.save(settings.recs_model_path)
    _save_text_cache(embed)
    typer.echo(f"saved {settings.recs_model_path} in {time.perf_counter() - start:.1f}s")


@app.command("eval-recs")
def eval_recs(
    test_file: Path = typer.Argument(..., help="rows like valid.csv: user_id, history_item_id, item_id"),
    dataset: Path = typer.Option(..., help="folder with items.jsonl, interactions.csv, valid.csv"),
    cf_model: str = typer.Option("cooccurrence", help="cooccurrence | ease | als"),
    text: bool = typer.Option(True, help="fuse item text embeddings (MiniLM)"),
    diversity: list[float] = typer.Option([0.0, 0.3], help="MMR levels to report intra-list similarity for"),
) -> None:
    """Train on DIR only, rank all items per test row; the LAST line is one JSON object (fused model)."""
    import json

    from recommender.evaluation import evaluate_folder, summary_line

    embed = _recs_embedder(text)
    report = evaluate_folder(dataset, test_file, embed, _recs_config(cf_model), progress=typer.echo,
                             diversity_levels=diversity)
    _save_text_cache(embed)
    for name, metrics in report["variants"].items():
        typer.echo(f"{name:<11}" + "  ".join(f"{key}={value:.4f}" for key, value in metrics.items()))
    for level, row in report["diversity"].items():
        typer.echo(f"mmr diversity={level}: ils@10={row['ils@10']:.4f} top10 hr@10={row['hr@10']:.4f}")
    typer.echo(f"recommend latency p50={report['latency']['p50_ms']:.3f}ms p99={report['latency']['p99_ms']:.3f}ms")
    typer.echo("fused, 95 % bootstrap over the test rows: " + "  ".join(
        f"{key}=[{low:.4f}, {high:.4f}]" for key, (low, high) in report["intervals"].items()))
    typer.echo(json.dumps(summary_line(report)))


@app.command("holdout-valid")
def holdout_valid(source: Path, destination: Path) -> None:
    """Copy a data set without its valid.csv (user, item) pairs, to measure on the source's valid.csv."""
    from recommender.data import write_holdout_copy

    counts = write_holdout_copy(source, destination, min_history=1)
    typer.echo(f"wrote {destination}: {counts}")


@app.command("ab-report")
def ab_report(
    test: int | None = typer.Option(None, help="the A/B test's id (default: the running one, else the latest)"),
) -> None:
    """Per variant of an A/B test: exposures, click-through, add-to-cart, conversion with 95 % intervals."""
    from sqlalchemy import select

    from assistant.config import get_settings
    from assistant.store.database import make_engine, session_factory
    from assistant.store.models import AbTest
    from recommender.ab import ab_report as report_variants

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with session_factory(engine)() as db:
            query = select(AbTest).order_by((AbTest.status == "running").desc(), AbTest.id.desc()).limit(1)
            chosen = db.get(AbTest, test) if test is not None else db.scalar(query)
            if chosen is None:
                raise typer.BadParameter(f"no A/B test {test}" if test is not None else "no A/B test yet")
            typer.echo(f"test {chosen.id} '{chosen.name}': {chosen.status}"
                       + (f", winner {chosen.winner}" if chosen.winner else ""))
            for row in report_variants(db.connection(), chosen.id, [v.name for v in chosen.variants]):
                typer.echo(row.line())
    finally:
        engine.dispose()


@app.command("create-agent")
def create_agent(
    email: str = typer.Option(..., help="sign-in e-mail"),
    name: str = typer.Option(..., help="display name shown to shoppers"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    role: str = typer.Option("agent", help="agent or admin"),
) -> None:
    """Create (or update the password and role of) a human agent or admin."""
    from sqlalchemy import select

    from assistant.config import get_settings
    from assistant.security import hash_password
    from assistant.store.database import make_engine, session_factory, upgrade_schema
    from assistant.store.models import Agent

    if role not in ("agent", "admin"):
        raise typer.BadParameter("role must be agent or admin")
    if len(password) < 8:
        raise typer.BadParameter("password must have at least 8 characters")
    url = get_settings().resolved_database_url
    upgrade_schema(url)
    with session_factory(make_engine(url))() as db:
        agent = db.scalar(select(Agent).where(Agent.email == email.strip().lower()))
        if agent is None:
            agent = Agent(email=email.strip().lower(), name=name, role=role, password_hash="")
            db.add(agent)
        agent.name, agent.role, agent.password_hash = name, role, hash_password(password)
        db.commit()
        typer.echo(f"{role} {agent.email} (id {agent.id}) ready")


faq_app = typer.Typer(help="Bulk FAQ maintenance (the same rules as the admin API; run beside a stopped server "
                      "or a Chroma server).", no_args_is_help=True)
app.add_typer(faq_app, name="faq")


@faq_app.command("import")
def faq_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="a .json or .csv FAQ file"),
    dry_run: bool = typer.Option(False, "--dry-run", help="only report what would change"),
    merge: bool = typer.Option(False, "--merge", help="keep entries missing from the file (default: delete them)"),
) -> None:
    """Import a FAQ file: entries are added, updated or deleted so the FAQ matches the file."""
    import asyncio

    from assistant.admin.faq_bulk import (
        ImportRefused,
        describe_problems,
        describe_report,
        detect_format,
        import_faq,
        standalone_faq_service,
    )
    from assistant.config import get_settings

    fmt = detect_format(file.suffix)
    if fmt is None:
        raise typer.BadParameter("the file name must end in .json or .csv")

    async def run() -> dict:
        async with standalone_faq_service(get_settings()) as service:
            return await import_faq(service, file.read_bytes(), fmt, "merge" if merge else "sync", dry_run, None)

    try:
        report = asyncio.run(run())
    except ImportRefused as refused:
        typer.echo(f"{file}: refused, nothing was changed", err=True)
        for line in describe_problems(refused.problems):
            typer.echo(f"  {line}", err=True)
        raise typer.Exit(1) from refused
    for line in describe_report(report):
        typer.echo(line)


@faq_app.command("export")
def faq_export(file: Path = typer.Argument(..., dir_okay=False, help="a .json or .csv file to write")) -> None:
    """Write every FAQ entry to a JSON or CSV file (importable again)."""
    import asyncio

    from assistant.admin.faq_bulk import detect_format, export_faq, standalone_faq_service
    from assistant.config import get_settings

    fmt = detect_format(file.suffix)
    if fmt is None:
        raise typer.BadParameter("the file name must end in .json or .csv")

    async def run() -> list[dict]:
        async with standalone_faq_service(get_settings()) as service:
            return await service.all_entries()

    entries = asyncio.run(run())
    file.write_text(export_faq(entries, fmt), encoding="utf-8")
    typer.echo(f"wrote {len(entries)} FAQ entries to {file}")


@app.command("import-catalogue")
def import_catalogue_command(
    folder: Path = typer.Argument(..., exists=True, file_okay=False,
                                  help="a folder like ../shared/data/amazon_office (items.jsonl, interactions.csv)"),
) -> None:
    """Load items and behaviour from FOLDER, reindex the products and retrain the recommender."""
    from assistant.admin.catalogue import import_catalogue
    from assistant.config import get_settings

    import_catalogue(get_settings(), folder, echo=typer.echo)


customer_app = typer.Typer(help="A customer's personal data: export it or erase it (docs/privacy.md).",
                           no_args_is_help=True)
app.add_typer(customer_app, name="customer")


def _run_with_store(work):
    """Run `work(sessions)` against the configured store (schema upgraded first), then dispose of it."""
    import asyncio

    from assistant.config import get_settings
    from assistant.privacy.log_redaction import install_log_redaction
    from assistant.store.database import async_session_factory, make_async_engine, upgrade_schema

    install_log_redaction()
    settings = get_settings()
    upgrade_schema(settings.resolved_database_url)

    async def run():
        engine = make_async_engine(settings.resolved_database_url)
        try:
            return await work(async_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@customer_app.command("export")
def customer_export(
    customer_id: str = typer.Argument(..., help="the customer's id"),
    out: Path | None = typer.Option(None, "--out", dir_okay=False, help="write here instead of to stdout"),
) -> None:
    """Print (or write) every session, message, event, order and feedback of a customer as JSON (audited)."""
    import json

    from assistant.privacy.audit import OPERATOR
    from assistant.privacy.data_rights import export_customer_data
    from assistant.privacy.export import UnknownCustomer

    try:
        document = _run_with_store(lambda sessions: export_customer_data(sessions, customer_id, OPERATOR))
    except UnknownCustomer as e:
        typer.echo(f"no customer {customer_id!r}", err=True)
        raise typer.Exit(1) from e
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"wrote the data of customer {customer_id} to {out}", err=True)


@customer_app.command("erase")
def customer_erase(
    customer_id: str = typer.Argument(..., help="the customer's id"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
) -> None:
    """Erase everything that names a customer (one transaction); anonymous counts stay. With Redis the live
    profile is deleted there and the servers are told to forget their caches; a single embedded server keeps
    its in-memory profile and caches until it restarts: erase through the admin API to drop those at once."""
    from assistant.config import get_settings
    from assistant.privacy.audit import OPERATOR
    from assistant.privacy.data_rights import erase_customer_data, shared_profiles, workers_of
    from assistant.privacy.export import UnknownCustomer

    if not yes:
        typer.confirm(f"Erase every message, event and record of customer {customer_id}?", abort=True)
    try:
        report = _run_with_store(lambda sessions: erase_customer_data(sessions, customer_id, OPERATOR,
                                                                      shared_profiles(get_settings()),
                                                                      workers_of(get_settings())))
    except UnknownCustomer as e:
        typer.echo(f"no customer {customer_id!r}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"erased customer {customer_id}: {_describe(report.counts())}; "
               f"their orders are kept as {report.subject}")


@app.command()
def retention(days: int | None = typer.Option(None, help="override SHOPASSIST_RETENTION_DAYS")) -> None:
    """Erase transcripts and behaviour events older than the retention period, purge expired revoked tokens."""
    from assistant.config import get_settings
    from assistant.privacy.retention import run_retention

    keep = days or get_settings().retention_days
    report = _run_with_store(lambda sessions: run_retention(sessions, keep))
    typer.echo(f"retention {keep} days (before {report.cutoff}): {_describe(report.counts())}")


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items())


@app.command("privacy-scrub")
def privacy_scrub() -> None:
    """Mask card numbers, IBANs and passwords in rows stored before redaction existed (run once after upgrading)."""
    from assistant.privacy.scrub import scrub_stored

    async def work(sessions):
        async with sessions() as db:
            changed = await scrub_stored(db)
            await db.commit()
        return changed

    changed = _run_with_store(work)
    typer.echo("scrubbed: " + (_describe(changed) if changed else "nothing held a secret"))
