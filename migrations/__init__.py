"""Alembic migrations; `genroute db upgrade` runs them (see genroute/db/migrate.py)."""
