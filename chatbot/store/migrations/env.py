"""Alembic environment: runs on the connection chatbot.store.db.migrate() hands over.

The app needs no alembic.ini. To write a new migration during development, use a scratch
ini with script_location = chatbot/store/migrations and sqlalchemy.url = <a database at
head>, then `alembic -c that.ini revision --autogenerate -m "what changed"`; name the file
NNNN_<what>.py with revision "NNNN", like the others.
"""

from alembic import context
from sqlalchemy import create_engine

from chatbot.store.db import Base

config = context.config


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:  # the alembic command line, given a URL in its ini file
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as conn:
        run(conn)
