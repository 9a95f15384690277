"""Article 6 tables: authorizations (current and every version), issue 19.

``article6_authorization``: the current version of every authorization, one row per (registry,
authorization_id), with the columns the ledger and the checks select by (kind, host party,
activity, status) and the whole content as canonical JSON. ``article6_authorization_version``: every
version, never updated, with the index of its leaf in the log (``leaf_idx``).

The alembic migration ``0011_authorization`` creates exactly these tables; a test compares
migrations and metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "AuthorizationRow",
    "AuthorizationVersionRow",
    "authorization_table",
    "authorization_version_table",
]

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AuthorizationRow(SQLModel, table=True):
    """The current version of an authorization."""

    __tablename__ = "article6_authorization"
    __table_args__ = (
        sa.UniqueConstraint("registry", "authorization_id", name="uq_authorization_key"),
        sa.Index("ix_authorization_host", "host_party"),
        sa.Index("ix_authorization_activity", "activity_id"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(_ID, primary_key=True, autoincrement=True)
    )
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), nullable=False))
    authorization_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    host_party: str = Field(sa_column=sa.Column(sa.String(2), nullable=False))
    activity_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(256)))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    record_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    observed_at: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class AuthorizationVersionRow(SQLModel, table=True):
    """Every version of every authorization, the current one included. Never updated."""

    __tablename__ = "article6_authorization_version"
    __table_args__ = (
        sa.UniqueConstraint(
            "registry", "authorization_id", "version", name="uq_authorization_version"
        ),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(_ID, primary_key=True, autoincrement=True)
    )
    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), nullable=False))
    authorization_id: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    record_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    raw_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    observed_at: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    connector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    leaf_idx: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


_current = AuthorizationRow.__table__  # type: ignore[attr-defined]
_versions = AuthorizationVersionRow.__table__  # type: ignore[attr-defined]
assert isinstance(_current, sa.Table) and isinstance(_versions, sa.Table)
authorization_table: sa.Table = _current
authorization_version_table: sa.Table = _versions
