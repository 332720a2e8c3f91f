"""The migrations build exactly the schema the models describe, in one line of revisions."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.platform import migrate
from core.platform.db import Database
from core.schema import Base


def test_the_revisions_have_one_head():
    # get_current_head raises when two revisions share a parent (a merge left unchained).
    assert migrate.head_revision()


def test_the_migrated_schema_is_the_models_schema(database_url):
    database = Database(database_url)
    try:
        assert migrate.current_revision(database.engine) == migrate.head_revision()
        with database.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert differences == []
    finally:
        database.dispose()
