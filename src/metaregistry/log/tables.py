"""The log's tables in the index database (they share ``SQLModel.metadata`` with the index).

``log_leaves`` holds every leaf (its bytes, its hash, and the columns to find a record's leaf
again); ``log_nodes`` holds the hash of every *completed* perfect subtree of an even level
above the leaves, keyed by ``(level, idx)`` (see :mod:`metaregistry.log.merkle`); level 0 is
the leaf hash in ``log_leaves`` and an odd level is the hash of its two children.
``log_leaf_hashes`` finds a leaf by its hash; ``log_checkpoints`` keeps every signed
checkpoint published. Rows are never updated or deleted.

The alembic migration ``0002_log`` creates exactly these tables; keep the two in step.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

__all__ = [
    "LogCheckpoint",
    "LogLeaf",
    "LogLeafHash",
    "LogNode",
    "checkpoints_table",
    "leaf_hashes_table",
    "leaves_table",
    "nodes_table",
]

# SQLite makes an INTEGER PRIMARY KEY the rowid (no separate index); BIGINT would not be.
_INDEX_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class LogLeaf(SQLModel, table=True):
    """One leaf: ``idx`` is its position in the log, ``data`` its canonical bytes."""

    __tablename__ = "log_leaves"
    # Partial indexes: a block leaf pays nothing for the event index and vice versa. There is
    # deliberately no index on leaf_hash here: random keys make every append batch dirty a
    # page per leaf. Lookups by hash go through log_leaf_hashes (see there).
    __table_args__ = (
        Index(
            "ix_log_leaves_record",
            "registry",
            "record_id",
            "version",
            sqlite_where=text("registry IS NOT NULL"),
            postgresql_where=text("registry IS NOT NULL"),
        ),
        Index(
            "ix_log_leaves_event_id",
            "event_id",
            sqlite_where=text("event_id IS NOT NULL"),
            postgresql_where=text("event_id IS NOT NULL"),
        ),
    )

    idx: int = Field(sa_column=Column(_INDEX_TYPE, primary_key=True, autoincrement=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))
    # SQLModel reserves the attribute name ``registry``; the column keeps the JSON name.
    registry_slug: str | None = Field(
        default=None, sa_column=Column("registry", String(64), nullable=True)
    )
    record_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    version: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    event_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))


class LogNode(SQLModel, table=True):
    """The hash of the perfect subtree over leaves ``[idx << level, (idx + 1) << level)``,
    for even levels from 2 up (see ``metaregistry.log.store``)."""

    __tablename__ = "log_nodes"
    # A composite primary key needs no rowid: the key is the only way a node is ever read.
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LogLeafHash(SQLModel, table=True):
    """Leaf hash to leaf index, for the leaves covered by the latest checkpoint.

    Filled when a checkpoint is published, in one sorted insert (cheap), rather than leaf by
    leaf at append time (a random B-tree insert per leaf). Leaves appended since the latest
    checkpoint are found by scanning that short tail of ``log_leaves``.
    """

    __tablename__ = "log_leaf_hashes"
    __table_args__ = {"sqlite_with_rowid": False}

    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint as published: ``note`` is the whole C2SP signed note."""

    __tablename__ = "log_checkpoints"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    origin: str = Field(sa_column=Column(String(255), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


leaves_table = _table(LogLeaf)
nodes_table = _table(LogNode)
leaf_hashes_table = _table(LogLeafHash)
checkpoints_table = _table(LogCheckpoint)
