"""The ``fangang`` command: the planner's commands plus ``serve`` and ``admin``."""

from __future__ import annotations

from typing import Annotated

import typer

from planner.cli import app

admin = typer.Typer(no_args_is_help=True, help="Manage API keys (uses FANGANG_DATABASE_URL, like `serve`).")
app.add_typer(admin, name="admin")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
          log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info") -> None:
    """Run the HTTP service (upgrades the database schema first)."""
    import uvicorn  # noqa: PLC0415

    from .main import create_app  # noqa: PLC0415

    uvicorn.run(create_app(), host=host, port=port, log_level=log_level, access_log=False)


def _create(name: str, role: str) -> None:
    from sqlalchemy.exc import IntegrityError  # noqa: PLC0415

    from .config import get_settings  # noqa: PLC0415
    from .db import make_engine, session_factory, upgrade  # noqa: PLC0415
    from .models import Principal  # noqa: PLC0415
    from .security import hash_api_key, new_api_key  # noqa: PLC0415

    name = name.strip()
    if not name:
        typer.echo("error: the name is empty", err=True)
        raise typer.Exit(2)
    engine = make_engine(get_settings().sqlalchemy_url())
    try:
        upgrade(engine)
        key = new_api_key()
        with session_factory(engine).begin() as session:
            session.add(Principal(name=name, role=role, key_hash=hash_api_key(key), key_prefix=key[:10]))
    except IntegrityError:
        typer.echo(f"error: there is already an {role} named {name!r}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"created {role} {name!r}; its API key (shown once, keep it safe): {key}")


@admin.command("create-agency")
def create_agency(name: Annotated[str, typer.Argument(help="the HR agency's name, e.g. 豫才人力")]) -> None:
    """Create an HR agency and print its new API key (the last word of the output)."""
    _create(name, "agency")


@admin.command("create-coordinator")
def create_coordinator(name: Annotated[str, typer.Argument(help="the coordinator's name")]) -> None:
    """Create a park coordinator and print the new API key (the last word of the output)."""
    _create(name, "coordinator")


def main() -> None:
    app()
