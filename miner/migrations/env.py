"""Alembic environment: runs migrations on the connection (or engine) handed over by `miner.db.upgrade`.

`upgrade` passes a connection already inside its locked transaction; Alembic then runs in that
transaction (its own begin_transaction() is a no-op) and `upgrade` commits it.
"""

from alembic import context
from sqlalchemy import Connection, create_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch mode for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: take the URL from the settings
        from miner.config import Settings

        engine = create_engine(Settings.load().database_url)
    with engine.connect() as connection:
        run(connection)
