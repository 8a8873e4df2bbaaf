"""The record: SQLAlchemy 2 typed ORM models, engine/session helpers, Alembic migrations."""
