"""Persistence: models, engine/session factory and repository functions (which never commit)."""
