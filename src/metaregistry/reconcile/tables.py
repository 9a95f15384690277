"""Reconciliation's table: what the index knows of each registry's completeness.

``registry_coverage``: one row per registry, the last word on whether the index holds that
registry's complete record set. ``complete`` is set by a sync whose every stream was a
snapshot that completed with no drift (the source's own totals agree), or by
``metaregistry import --complete`` (the operator says the files are a full export); a later
partial import or an incomplete snapshot does not unset it, a sync that failed does not
either (what was complete stays complete until a newer complete set replaces it). ``source``
says which (``sync`` or ``import``) and ``detail`` the run or files; ``recorded_at`` when.

``project_link``: the crosswalk as the last reconciliation built it: two registries' ids of
one project (``a``/``b``: registry and normalized project id) and where the link came from
(``source`` ``record`` or ``map``; ``detail`` the record and field, or the mapping file's line
and note). Rewritten by every run; the API reads project identity from it.

The alembic migrations ``0007_reconcile`` and ``0008_project_link`` create them; a test
compares migrations and metadata.
Project-basis alerts and links need no table of their own: they are ``alert`` and
``block_link`` rows whose ``scheme`` is ``project`` (their ``scope`` the project key).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "ProjectLinkRow",
    "RegistryCoverageRow",
    "project_link_table",
    "registry_coverage_table",
]


class RegistryCoverageRow(SQLModel, table=True):
    """Whether the index holds a registry's complete record set."""

    __tablename__ = "registry_coverage"

    registry_slug: str = Field(sa_column=sa.Column("registry", sa.String(64), primary_key=True))
    complete: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    detail: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    recorded_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


_table = RegistryCoverageRow.__table__  # type: ignore[attr-defined]
assert isinstance(_table, sa.Table)
registry_coverage_table: sa.Table = _table


class ProjectLinkRow(SQLModel, table=True):
    """Two registries' ids of one project, and where the link came from."""

    __tablename__ = "project_link"
    __table_args__ = (
        sa.Index("ix_project_link_a", "a_registry", "a_project"),
        sa.Index("ix_project_link_b", "b_registry", "b_project"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    a_registry: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    a_project: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    b_registry: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    b_project: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    detail: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


_links = ProjectLinkRow.__table__  # type: ignore[attr-defined]
assert isinstance(_links, sa.Table)
project_link_table: sa.Table = _links
