"""The body of both services' Alembic ``env.py``: run migrations on the Flask app's engine."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app

from shared.commands import store_errors


def run_migrations(version_table: str, database_variable: str) -> None:
    """Run Alembic for the current Flask app; *version_table* keeps each service's own history.

    A database that cannot be reached or written ends the command with one line naming
    *database_variable*.
    """
    # No fileConfig(): the app factory already set up JSON logging, and migrations log in it.
    config = context.config
    database = current_app.extensions["migrate"].db
    metadata = database.metadatas[None]
    if context.is_offline_mode():
        context.configure(
            url=database.engine.url.render_as_string(hide_password=False),
            target_metadata=metadata,
            literal_binds=True,
            version_table=version_table,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def skip_empty_autogenerate(ctx: object, revision: object, directives: list[Any]) -> None:
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logging.getLogger("alembic.env").info("No changes in schema detected.")

    url = database.engine.url.render_as_string(hide_password=False)
    with (
        store_errors(current_app.name, database_variable, url),
        database.engine.connect() as connection,
    ):
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            process_revision_directives=skip_empty_autogenerate,
            **current_app.extensions["migrate"].configure_args,
        )
        with context.begin_transaction():
            context.run_migrations()
