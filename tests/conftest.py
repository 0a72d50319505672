"""Shared fixtures: databases (SQLite always, PostgreSQL when 127.0.0.1:5432 answers) and settings."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from miner import db
from miner.config import Settings

REPO = Path(__file__).resolve().parents[1]

# Tests never see the developer's credentials or secrets file, and never touch ./data.
for _name in list(os.environ):
    if _name.startswith(("ZENDESK_", "ANTHROPIC_", "MINER_")) or _name == "DATABASE_URL":
        del os.environ[_name]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="miner-tests-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_SESSION_DIR / 'default.db'}"
os.environ["MINER_SECRETS_FILE"] = os.devnull
os.environ["MINER_DEMO_TICKETS"] = "1500"
# Real recorded Zendesk responses (copied, gzipped, from the project's shared reference folder).
REFERENCE = REPO / "tests" / "fixtures" / "zendesk"
PG_URL = os.environ.get("MINER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    host, port = "127.0.0.1", 5432
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'miner.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the `test` database, dropped afterwards."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not listening on 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run the test on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = db.make_engine(sqlite_url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings.load(env={"DATABASE_URL": sqlite_url}, secrets_file=False)
