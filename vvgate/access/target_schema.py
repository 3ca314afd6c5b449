"""The schema a run builds its GraphQL requests from, and where it came from.

Kept apart from schema_source (which reads and merges SDL with graphql-core) so that a run
that has no schema never imports graphql-core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphql import GraphQLSchema


@dataclass(frozen=True)
class TargetSchema:
    schema: GraphQLSchema | None
    source: str  # where it came from, for the report

    @property
    def note(self) -> str:
        if self.schema is None:
            return ("GraphQL schema: none (give graphql.schema in the profile, or --app-repo); "
                    "requests use the contract's minimal shapes")
        queries = len(self.schema.query_type.fields) if self.schema.query_type else 0
        mutations = len(self.schema.mutation_type.fields) if self.schema.mutation_type else 0
        return (f"GraphQL schema: {self.source} ({queries} queries, {mutations} mutations); "
                "every request is built from it")

    def operations(self) -> list[tuple[str, str]]:
        """(kind, field) of every root field the schema offers."""
        if self.schema is None:
            return []
        out: list[tuple[str, str]] = []
        for kind, root in (("query", self.schema.query_type),
                           ("mutation", self.schema.mutation_type)):
            if root is not None:
                out.extend((kind, name) for name in root.fields)
        return out


NO_SCHEMA = TargetSchema(None, "none")
