"""jwks_cache: the last good key set fetched from the JWKS URL

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jwks_cache",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("max_age", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )


def downgrade():
    op.drop_table("jwks_cache")
