"""throttle counters per address and per (username, address) replace login_failures

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

The old per-username windows cannot be converted (they know no address) and last minutes at
most, so they are dropped; every other table is untouched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_throttle_counters_window_ends_at", "throttle_counters", ["window_ends_at"])
    op.drop_table("login_failures")


def downgrade():
    op.create_table(
        "login_failures",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.drop_index("ix_throttle_counters_window_ends_at", table_name="throttle_counters")
    op.drop_table("throttle_counters")
