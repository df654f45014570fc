"""Apply Alembic migrations from code, for `peerchat migrate` and for `peerchat serve`."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # '%' would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


_ALEMBIC = threading.Lock()
"""Alembic keeps its migration context in module globals: one run at a time per process."""


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to date. Synchronous: call it before the event loop or in a thread."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        if path and ":memory:" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    with _ALEMBIC:
        command.upgrade(alembic_config(database_url), revision)
