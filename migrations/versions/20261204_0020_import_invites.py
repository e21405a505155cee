"""invite campaigns of a CSV import: their source and the members they are for

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-13 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invite_campaigns") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=8), server_default="console", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_invite_campaigns_source_known"), "source IN ('console', 'import')"
        )
    op.create_table(
        "invite_campaign_members",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["invite_campaigns.id"],
            name=op.f("fk_invite_campaign_members_campaign_id_invite_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_invite_campaign_members_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "member_id", name=op.f("pk_invite_campaign_members")
        ),
    )


def downgrade() -> None:
    op.drop_table("invite_campaign_members")
    with op.batch_alter_table("invite_campaigns") as batch:
        batch.drop_constraint(op.f("ck_invite_campaigns_source_known"), type_="check")
        batch.drop_column("source")
