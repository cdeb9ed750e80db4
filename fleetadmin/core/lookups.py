"""``Among``: a column's value is one of a list, with the list sent as one parameter.

``filter(pk__in=ids)`` writes one placeholder per id: for a page's 100 ids Django prepares, compiles and
the driver binds 100 parameters, about 0.4 ms of the keys list's 1.4 ms authorization query. ``Among``
sends them as a single value: a PostgreSQL array (``column = ANY(%s)``), or a JSON array that SQLite reads
with ``json_each``. The SQL has the same shape whatever the number of ids. It is a lookup used as an
expression, ``queryset.filter(Among(F("key_id"), ids))``, so nothing is registered globally.
"""

from __future__ import annotations

import json

from django.db.models import Lookup


class Among(Lookup):
    lookup_name = "among"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)  # the values as given; each is prepared for the database in as_sql

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection) for value in self.rhs if value is not None]
        if not values:
            return "1 = 0", list(lhs_params)  # an empty list matches nothing, as an empty IN does
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if connection.vendor == "sqlite":
            return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]  # noqa: S608
        placeholders = ", ".join(["%s"] * len(values))  # any other database: a plain IN list
        return f"{lhs} IN ({placeholders})", [*lhs_params, *values]
