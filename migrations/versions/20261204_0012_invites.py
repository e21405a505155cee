"""invites: install links by SMS and e-mail, invite campaigns, separate marketing consent

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("marketing_consent_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("marketing_consent_source", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("marketing_consent_text", sa.String(length=40), nullable=True)
        )
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("invite_on_enroll", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("invite_interval_days", sa.Integer(), server_default="30", nullable=False)
        )
    op.create_table(
        "invite_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("daily_budget", sa.Integer(), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("estimated_recipients", sa.Integer(), nullable=True),
        sa.Column("estimated_cost", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('sms', 'email')", name=op.f("ck_invite_campaigns_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'sending', 'sent', 'cancelled')",
            name=op.f("ck_invite_campaigns_status_known"),
        ),
        sa.CheckConstraint(
            "daily_budget > 0 AND per_minute > 0", name=op.f("ck_invite_campaigns_limits_positive")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_invite_campaigns_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_campaigns")),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("due_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_invites_channel_known")),
        sa.CheckConstraint(
            "source IN ('site', 'till', 'import', 'console')", name=op.f("ck_invites_source_known")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed')", name=op.f("ck_invites_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["invite_campaigns.id"],
            name=op.f("fk_invites_campaign_id_invite_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_invites_card_id_cards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_invites_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_invites_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("token", name=op.f("uq_invites_token")),
    )
    op.create_index("ix_invites_member_id_created_at", "invites", ["member_id", "created_at"])
    op.create_index("ix_invites_status_due_at", "invites", ["status", "due_at"])
    op.create_index("ix_invites_campaign_id", "invites", ["campaign_id"])
    op.create_index("ix_invites_program_id_created_at", "invites", ["program_id", "created_at"])


def downgrade() -> None:
    op.drop_table("invites")
    op.drop_table("invite_campaigns")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_column("invite_interval_days")
        batch_op.drop_column("invite_on_enroll")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("marketing_consent_text")
        batch_op.drop_column("marketing_consent_source")
        batch_op.drop_column("marketing_consent_at")
