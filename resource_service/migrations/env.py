"""Alembic environment of the resource service (see shared/alembic_env.py)."""

from shared.alembic_env import run_migrations

# Each service keeps its own version table, so both can share one database if they must.
run_migrations(version_table="resource_alembic_version")
