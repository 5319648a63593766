"""The declarative base every model shares, with constraint names Alembic can rely on."""

from datetime import datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every table's base; constraints are named by convention so migrations can name them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now_column(nullable: bool = False) -> Mapped[datetime]:
    """A timestamp the database fills in (its clock, not a host's)."""
    return mapped_column(DateTime(timezone=True), nullable=nullable, server_default=func.now())
