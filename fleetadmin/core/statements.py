"""``Statement``: a read whose SQL is the same on every request but for its values, compiled once per connection.

Every page of an organization reads the viewer's memberships and the organization itself. The ORM built and
compiled those querysets on every request, which cost more than running them (a profile of an empty keys
list: memberships 0.42 ms against 0.28 ms for the statement; the organization 0.35 ms against 0.16 ms).

A ``Statement`` is declared with the queryset (``build``, a ``values_list``) and the parameters its SQL takes
(``params``). The first call on each database connection compiles ``build(*args)`` through the ORM and checks
that the compiled parameters are exactly ``params(connection, *args)``. A wrong declaration fails there, on
either database, and never runs. Each later call executes the same SQL with fresh parameters and applies the
ORM's own converters for those columns. The rows are what the ``values_list`` would have returned. Each
connection (one per thread) gets its own compiled copy, as the converters are the connection's.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet


class Statement:
    def __init__(self, build: Callable[..., QuerySet], params: Callable[..., Sequence]):
        self._build = build
        self._params = params
        # connection -> (sql, compiler, converters)
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rows(self, *args) -> list[tuple]:
        connection = connections[DEFAULT_DB_ALIAS]
        params = list(self._params(connection, *args))
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection, args, params)
        sql, compiler, converters = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows

    def _compile(self, connection, args, params):
        compiler = self._build(*args).query.get_compiler(connection=connection)
        sql, compiled_params = compiler.as_sql()
        if list(compiled_params) != params:
            raise ImproperlyConfigured(
                f"Statement parameters {params!r} are not the compiled query's {list(compiled_params)!r}: {sql}"
            )
        columns = [expression for expression, _sql, _alias in compiler.select[: compiler.col_count]]
        return sql, compiler, compiler.get_converters(columns)
