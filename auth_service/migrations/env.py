"""Alembic environment of the auth service (see shared/alembic_env.py)."""

from shared.alembic_env import run_migrations

# Each service keeps its own version table, so both can share one database if they must.
run_migrations(version_table="auth_alembic_version")
