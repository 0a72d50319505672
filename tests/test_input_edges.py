"""Input at the edges: what people type and what operators configure gets an answer, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from miner import db
from miner.config import ConfigError, Settings
from miner.models import Ticket
from miner.queries import TicketFilter, search_tickets

REPO = Path(__file__).resolve().parents[1]


def add_tickets(engine: Engine, subjects: dict[int, str]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Ticket.__table__), [
            {"id": tid, "subject": subject, "description": "", "status": "open", "tags": [], "created_at": now,
             "updated_at": now, "generated_timestamp": 0, "synced_at": now} for tid, subject in subjects.items()])


def found(engine: Engine, text: str) -> set[int]:
    return set(search_tickets(engine, TicketFilter(text=text))["id"]) if text else set()


def test_search_treats_percent_and_underscore_as_themselves(engine: Engine) -> None:
    add_tickets(engine, {1: "Discount of 100% not applied", 2: "Discount of 100 euros not applied",
                         3: "Field user_name rejected", 4: "Field username rejected", 5: "Path C:\\temp fails"})
    assert found(engine, "100%") == {1}
    assert found(engine, "user_name") == {3}
    assert found(engine, "_") == {3}
    assert found(engine, "%") == {1}
    assert found(engine, "c:\\temp") == {5}


def test_search_for_a_number_too_big_for_an_id_searches_the_text(engine: Engine) -> None:
    add_tickets(engine, {10: "Order 12345678901234567890 never arrived", 11: "Ticket 7"})
    assert found(engine, "12345678901234567890") == {10}  # 20 digits: not an id, still a search
    assert found(engine, "9223372036854775808") == set()
    assert found(engine, "11") == {11}  # a ticket number
    assert db.parse_id("99999999999999999999") is None and db.parse_id("٣") is None and db.parse_id("0") is None


def load(**env: str) -> Settings:
    return Settings.load(env=env, secrets_file=False)


def test_secrets_file_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"MINER_SECRETS_FILE: .* is a folder"):
        Settings.load(env={"MINER_SECRETS_FILE": str(tmp_path)})


@pytest.mark.parametrize("spec", ["nonsense", "sentence-transformers:", "sentence-transformers:/no/such/model",
                                  "sentence-transformers:./models/missing", "sentence-transformers:a/b/c"])
def test_unknown_embedder_stops_the_start(spec: str) -> None:
    with pytest.raises(ConfigError, match="MINER_EMBEDDINGS"):
        load(MINER_EMBEDDINGS=spec)


def test_a_local_sentence_transformers_folder_is_accepted(tmp_path: Path) -> None:
    assert load(MINER_EMBEDDINGS=f"sentence-transformers:{tmp_path}").embeddings == f"sentence-transformers:{tmp_path}"


def test_a_hugging_face_model_id_is_accepted() -> None:  # downloaded once, by sentence-transformers
    spec = "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2"
    assert load(MINER_EMBEDDINGS=spec).embeddings == spec


@pytest.mark.parametrize(("content", "problem"), [
    (None, "not a taxonomy file"),  # /etc/passwd
    ("title = 'mine'\n", "defines no"),
    ("[categories.billing]\nlabel = 'Billing'\n", "subcategory"),
])
def test_a_file_that_is_not_a_taxonomy_stops_the_start(tmp_path: Path, content: str | None, problem: str) -> None:
    path = Path("/etc/passwd")
    if content is not None:
        path = tmp_path / "taxonomy.toml"
        path.write_text(content)
    with pytest.raises(ConfigError, match="MINER_TAXONOMY") as raised:
        load(MINER_TAXONOMY=str(path))
    assert problem in str(raised.value)


def test_a_file_that_is_not_a_price_table_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text("[models.claude-haiku-5-5]\ninput = 'cheap'\n")
    with pytest.raises(ConfigError, match="MINER_PRICES"):
        load(MINER_PRICES=str(path))


def test_the_command_line_refuses_a_wrong_taxonomy_with_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "MINER_TAXONOMY": "/etc/passwd"}
    done = subprocess.run([sys.executable, "-m", "miner", "status"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: Invalid configuration: MINER_TAXONOMY") and "Traceback" not in done.stderr
