"""Alembic environment of the resource service (see shared/alembic_env.py)."""

from resource_service.extensions import VERSION_TABLE
from shared.alembic_env import run_migrations

run_migrations(version_table=VERSION_TABLE, database_variable="RESOURCE_DATABASE_URL")
