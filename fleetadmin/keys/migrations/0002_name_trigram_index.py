"""Key search by name: a trigram GIN index on PostgreSQL (pg_trgm, through django.contrib.postgres).

The list's search is Django's icontains, ``UPPER("name"::text) LIKE UPPER('%term%')``; a btree cannot
serve a match anywhere in the name, a trigram index can, on exactly that expression. SQLite keeps its scan
of one organization's keys: both operations do nothing there.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "keys_apikey_name_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "keys_apikey" USING gin (UPPER(("name")::text) gin_trgm_ops)'
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("keys", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index),
    ]
