"""A query's WHERE clause, built one optional filter at a time, with its parameters in order.

Every listing in the store (events, the rota, the evidence audit, the teaching labels) takes optional
filters: a filter left as None adds nothing. ``Where`` keeps each condition beside its parameters so they
can never drift apart, and renders ``" WHERE a AND b"`` or nothing. The SQL stays portable: only ``?``
placeholders, which vision.store.dialect rewrites for PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Where:
    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> Where:
        """A condition with its own placeholders, e.g. ``add("(started_at, id) < (?, ?)", at, id)``."""
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def compare(self, column: str, op: str, value: Any) -> Where:
        """``column op ?`` when ``value`` is given (not None); e.g. ``compare("at", ">=", since)``."""
        if value is not None:
            self.add(f"{column} {op} ?", value)
        return self

    def equals(self, column: str, value: Any) -> Where:
        return self.compare(column, "=", value)

    def any_of(self, column: str, values: Sequence[Any] | None) -> Where:
        """``column = ?`` for one value, ``column IN (?, ...)`` for several; None adds nothing."""
        if values is None:
            return self
        if len(values) == 1:
            return self.add(f"{column} = ?", values[0])
        return self.add(f"{column} IN ({', '.join('?' * len(values))})", *values)

    def sql(self) -> str:
        """``" WHERE a AND b"`` (with its leading space), or ``""`` when no filter was given."""
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def __bool__(self) -> bool:
        return bool(self.clauses)
