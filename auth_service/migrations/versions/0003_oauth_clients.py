"""OAuth clients, and the client of every session

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Every existing session was opened by /auth/login, so it belongs to the built-in first-party
client: the column's server default gives the rows already there that id (new rows always
name their client).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FIRST_PARTY_CLIENT_ID = "tokenpair-first-party"  # auth_service.tokens; migrations stay frozen


def upgrade():
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A plain ADD COLUMN, never a batch copy of the table: on SQLite the copy drops the old
    # table, and the foreign key's ON DELETE CASCADE would delete every refresh token.
    op.add_column(
        "sessions",
        sa.Column(
            "client_id",
            sa.String(length=64),
            nullable=False,
            server_default=FIRST_PARTY_CLIENT_ID,
        ),
    )
    op.create_index("ix_sessions_client_id", "sessions", ["client_id"])


def downgrade():
    op.drop_index("ix_sessions_client_id", table_name="sessions")
    op.drop_column("sessions", "client_id")  # SQLite >= 3.35 drops a column in place
    op.drop_table("oauth_clients")
