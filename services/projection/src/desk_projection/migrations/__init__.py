"""Alembic migrations of the read models, run in code by `desk_projection.database.migrate`."""
