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
def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the chat server (widget at /, agent console at /agent/, admin at /admin/)."""
    import uvicorn

    from assistant.config import get_settings

    settings = get_settings()
    uvicorn.run("assistant.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, log_level="info")


def _unused(_: Path) -> None:  # keeps Path imported for commands added below
    pass
