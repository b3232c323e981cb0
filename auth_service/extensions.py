"""Flask extensions, created unbound here and bound to each app in the factory."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the auth service's models."""


# Objects stay readable after commit: a view returns what it just wrote without a reload.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()

# Alembic's version table of this service (its own name, so both services can share a database).
VERSION_TABLE = "auth_alembic_version"
