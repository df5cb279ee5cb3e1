"""Service settings: one pydantic-settings class, read from ``FANGANG_*`` variables.

Settings are built by :func:`get_settings` when the app or a command starts, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment (prefix ``FANGANG_``)."""

    model_config = SettingsConfigDict(env_prefix="FANGANG_", extra="ignore")

    #: Where the default SQLite file and the generated secret live.
    data_dir: Path = Path("var")
    #: SQLAlchemy URL; ``postgresql://`` is read as ``postgresql+psycopg://``. Default: SQLite in data_dir.
    database_url: Optional[str] = None
    #: Key for protecting ID numbers and phones. Default: a random key kept in ``data_dir/secret.key``.
    secret_key: Optional[str] = None
    #: Largest request body accepted, in bytes.
    max_request_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    #: Largest number of rows in one upload or one JSON submission.
    max_orders_per_request: int = Field(default=20_000, gt=0)
    #: Largest unpacked size of an uploaded XLSX (its zip's members together), checked before it is read.
    max_upload_unpacked_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    #: Memory ceiling of one plan's solver process, in MB (its address space; 0: none). Past it the
    #: plan fails with a clear message and the service goes on.
    plan_memory_mb: int = Field(default=6144, ge=0)
    #: How many plans may be solved at once (one process each).
    workers: int = Field(default=1, ge=1)
    #: Time limit of a plan when the request names none, and the largest one allowed (seconds).
    default_time_limit: float = Field(default=30.0, gt=0)
    max_time_limit: float = Field(default=900.0, gt=0)
    #: A running plan writes a heartbeat this often; one silent for ``job_stale_seconds`` is failed.
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    job_stale_seconds: float = Field(default=20.0, ge=0)
    #: Start the plan runner with the app (tests may turn it off).
    run_jobs: bool = True
    #: Road km source for plans: unset (geodesic × the policy's road factor), a ``from,to,km``
    #: CSV path, or an OSRM base URL. Each plan records it; its check measures with the same.
    roads: Optional[str] = None
    #: A Dask scheduler (``tcp://HOST:8786``): plans run as tasks on its cluster instead of local
    #: processes; unset, nothing changes.
    dask_scheduler: Optional[str] = None

    def sqlalchemy_url(self) -> str:
        """The database URL with the driver spelled out."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'fangang.db').resolve()}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url

    def protection_key(self) -> str:
        """The secret that protects rosters; generated once into ``data_dir`` when not set."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        import secrets  # noqa: PLC0415

        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        try:
            with open(path, "x", encoding="utf-8") as fh:  # another process may win the race
                fh.write(key)
            path.chmod(0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        return key


def get_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with ``overrides`` taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
