"""Prepared statements: compiled once per dialect, run straight through the driver's cursor.

SQLAlchemy Core writes the SQL; on the ingest path it is then executed without SQLAlchemy's
per-execution machinery, which costs about ten times what a local SQLite statement does (50
against 5 µs measured here) and doubles the client side of a PostgreSQL round trip. Parameters
and results are converted here the way :class:`~._types.UtcDateTime` would: instants go to
SQLite as integer microseconds and come back as aware UTC datetimes, and PostgreSQL refuses
naive datetimes (it would read them in the session's zone).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect as SaDialect
from sqlalchemy import Executable
from sqlalchemy.sql.util import find_tables

from ._types import UtcDateTime, from_micros, to_micros

__all__ = ["Compiled", "Prepared"]

# Statements that only read (they run outside a transaction until the first write).
_READS = frozenset({"SELECT", "WITH", "VALUES", "PRAGMA", "EXPLAIN", "SHOW"})


class Compiled:
    """One statement's SQL for one dialect, with its parameter order and instant columns."""

    __slots__ = (
        "defaults", "getter", "instants", "names", "reads", "returns_rows", "sql", "sqlite",
        "tables", "times",
    )  # fmt: skip

    def __init__(self, statement: Any, dialect: SaDialect) -> None:
        # IN lists are rendered as one parameter per value, so the SQL is final.
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql: str = compiled.string
        self.sqlite = dialect.name == "sqlite"
        verb = self.sql.lstrip().split(None, 1)[0].upper() if self.sql.strip() else ""
        self.reads = verb in _READS
        # Known up front, so a result is fetched without asking the cursor to describe it.
        self.returns_rows = self.reads or bool(getattr(compiled, "effective_returning", None))
        # Values written into the statement itself (literals, LIMIT) travel as parameters too.
        required = {name for bind, name in compiled.bind_names.items() if bind.required}
        self.defaults: dict[str, Any] = {
            name: value
            for name, value in compiled.construct_params(_check=False).items()
            if name not in required
        }
        # SQLite takes positional parameters; psycopg takes the named pyformat dict.
        self.names: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if self.sqlite and compiled.positiontup else None
        )
        # SQLite: the positions of instant parameters, the only ones that need converting.
        kinds = {name: bind.type for bind, name in compiled.bind_names.items()}
        self.instants = tuple(
            i
            for i, name in enumerate(self.names or ())
            if isinstance(kinds.get(name), UtcDateTime) or name not in kinds
        )
        self.getter = operator.itemgetter(*self.names) if self.names else None
        # The tables it reads or writes ("*": not known, as for textual SQL).
        found = frozenset(t.name for t in find_tables(statement, include_crud=True))
        self.tables: frozenset[str] = found or frozenset({"*"})
        columns = getattr(statement, "selected_columns", None)
        if columns is None:
            columns = getattr(statement, "_returning", ()) or ()
        self.times = tuple(
            i for i, c in enumerate(columns) if isinstance(getattr(c, "type", None), UtcDateTime)
        )

    def params(self, params: Mapping[str, Any]) -> Any:
        """Driver parameters for ``params`` (a tuple for SQLite, a dict for psycopg)."""
        if self.sqlite:
            if self.getter is None:
                return ()
            if self.defaults:
                params = {**self.defaults, **params}
            values = self.getter(params)
            values = list(values) if len(self.names or ()) > 1 else [values]
            for i in self.instants:
                value = values[i]
                if isinstance(value, datetime):
                    values[i] = to_micros(value)
            return values
        for value in params.values():
            if isinstance(value, datetime) and value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: the store keeps UTC instants only")
        return {**self.defaults, **params} if self.defaults else params

    def row(self, row: Sequence[Any]) -> Sequence[Any]:
        """A result row with SQLite's integer instants turned into datetimes."""
        if not self.sqlite or not self.times:
            return row
        out = list(row)
        for i in self.times:
            if out[i] is not None:
                out[i] = from_micros(out[i])
        return out


class Prepared:
    """A SQLAlchemy statement and its compiled forms, one per dialect, built on first use."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: SaDialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled(self.statement, dialect)
        return found
