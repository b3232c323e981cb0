"""Alembic environment of the auth service (see shared/alembic_env.py)."""

from auth_service.extensions import VERSION_TABLE
from shared.alembic_env import run_migrations

run_migrations(version_table=VERSION_TABLE, database_variable="AUTH_DATABASE_URL")
