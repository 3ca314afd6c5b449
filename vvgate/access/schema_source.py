"""The target's GraphQL schema: from the profile's SDL files, or found in an application checkout.

Introspection is refused in production, so the live target cannot be asked; the schema is an
input of the run. A stitched schema may span several files (the BFF's and the backend's):
they are merged, type by type and field by field, the first definition winning. Directives
the files use but do not define are dropped: they change nothing about how to call a field.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    TypeSystemDefinitionNode,
    TypeSystemExtensionNode,
    UnionTypeDefinitionNode,
    Visitor,
    build_ast_schema,
    build_client_schema,
    get_introspection_query,
    parse,
    specified_directives,
    visit,
)
from graphql.language.visitor import REMOVE

from vvgate.access.target_schema import NO_SCHEMA, TargetSchema
from vvgate.errors import ConfigError
from vvgate.targets.profile import Profile

if TYPE_CHECKING:
    from vvgate.access.https_client import TargetHttp

SDL_SUFFIXES = (".graphql", ".graphqls", ".gql")
SKIPPED_DIRS = {"node_modules", ".git", "dist", "build", "coverage", "__generated__"}
_WITH_FIELDS = (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode,
                InputObjectTypeDefinitionNode)




def _read(path: Path) -> DocumentNode:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"GraphQL schema {path}: cannot be read ({exc.strerror})") from None
    try:
        return parse(text)
    except GraphQLError as exc:
        where = f":{exc.locations[0].line}" if exc.locations else ""
        raise ConfigError(f"GraphQL schema {path}{where}: not GraphQL SDL: {exc.message}") from None


def _is_sdl(doc: DocumentNode) -> bool:
    return bool(doc.definitions) and all(
        isinstance(d, TypeSystemDefinitionNode | TypeSystemExtensionNode)
        for d in doc.definitions)


def _merge_into(kept: TypeDefinitionNode, other: TypeDefinitionNode) -> TypeDefinitionNode:
    if isinstance(kept, _WITH_FIELDS) and isinstance(other, type(kept)):
        names = {f.name.value for f in kept.fields or ()}
        extra = [f for f in other.fields or () if f.name.value not in names]
        return type(kept)(**{**_node_args(kept), "fields": (*(kept.fields or ()), *extra)})
    if isinstance(kept, EnumTypeDefinitionNode) and isinstance(other, EnumTypeDefinitionNode):
        values = {v.name.value for v in kept.values or ()}
        more_values = [v for v in other.values or () if v.name.value not in values]
        return EnumTypeDefinitionNode(**{**_node_args(kept),
                                         "values": (*(kept.values or ()), *more_values)})
    if isinstance(kept, UnionTypeDefinitionNode) and isinstance(other, UnionTypeDefinitionNode):
        members = {m.name.value for m in kept.types or ()}
        more_members = [m for m in other.types or () if m.name.value not in members]
        return UnionTypeDefinitionNode(**{**_node_args(kept),
                                          "types": (*(kept.types or ()), *more_members)})
    return kept


def _node_args(node: Any) -> dict[str, Any]:
    return {key: getattr(node, key, None) for key in node.keys}


def merge(docs: Iterable[DocumentNode]) -> DocumentNode:
    """One SDL document from several, as a stitching gateway would serve them."""
    types: dict[str, TypeDefinitionNode] = {}
    rest: list[Any] = []
    directives: set[str] = set()
    schema_seen = False
    for doc in docs:
        for node in doc.definitions:
            if isinstance(node, TypeDefinitionNode):
                name = node.name.value
                types[name] = _merge_into(types[name], node) if name in types else node
            elif isinstance(node, DirectiveDefinitionNode):
                if node.name.value not in directives:
                    directives.add(node.name.value)
                    rest.append(node)
            elif isinstance(node, SchemaDefinitionNode):
                if not schema_seen:
                    schema_seen = True
                    rest.append(node)
            else:
                rest.append(node)
    known = directives | {d.name for d in specified_directives}

    class _DropUnknownDirectives(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            return None if node.name.value in known else REMOVE

    merged = DocumentNode(definitions=(*types.values(), *rest))
    result: DocumentNode = visit(merged, _DropUnknownDirectives())
    return result


def build(paths: Iterable[Path], shown: str) -> GraphQLSchema:
    docs = [(p, _read(p)) for p in paths]
    not_sdl = [str(p) for p, d in docs if not _is_sdl(d)]
    if not_sdl:
        raise ConfigError(f"GraphQL schema {not_sdl[0]}: holds operations, not a schema (SDL)")
    try:
        schema = build_ast_schema(merge(d for _, d in docs))
    except (GraphQLError, TypeError) as exc:
        raise ConfigError(f"GraphQL schema {shown}: {' '.join(str(exc).split())}") from None
    if schema.query_type is None:
        raise ConfigError(f"GraphQL schema {shown}: no Query type")
    return schema


def find_in_checkout(root: Path) -> list[Path]:
    """Every SDL file of an application checkout (operation documents are not schemas)."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in SDL_SUFFIXES or not path.is_file():
            continue
        if SKIPPED_DIRS & set(path.relative_to(root).parts):
            continue
        try:
            doc = parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, GraphQLError):
            continue
        if _is_sdl(doc):
            found.append(path)
    return found


def load(profile: Profile, app_repo: Path | None) -> TargetSchema:
    """The run's schema: the profile's files first, else those of the application checkout."""
    if profile.graphql is not None and profile.graphql.sdl:
        files = list(profile.graphql.sdl)
        shown = ", ".join(p.name for p in files)
        return TargetSchema(build(files, shown), f"profile graphql.schema ({shown})")
    if app_repo is not None:
        files = find_in_checkout(app_repo)
        if files:
            shown = ", ".join(str(p.relative_to(app_repo)) for p in files)
            return TargetSchema(build(files, shown), f"application checkout ({shown})")
    return NO_SCHEMA


def served_schema(http: TargetHttp) -> GraphQLSchema | None:
    """What the target's introspection answers, or None where it refuses (as it should)."""
    response = http.graphql(get_introspection_query())
    try:
        data = response.json().get("data") or {}
        return build_client_schema(data) if data.get("__schema") else None  # type: ignore[arg-type]
    except (ValueError, AttributeError, TypeError, GraphQLError):
        return None


def differences(given: GraphQLSchema, served: GraphQLSchema) -> list[str]:
    """Root operations one schema has and the other lacks."""
    out = []
    for kind in ("query", "mutation"):
        mine = getattr(given, f"{kind}_type")
        theirs = getattr(served, f"{kind}_type")
        a = set(mine.fields) if mine else set()
        b = set(theirs.fields) if theirs else set()
        out += [f"{kind} {n}: in the given schema, not served" for n in sorted(a - b)]
        out += [f"{kind} {n}: served, not in the given schema" for n in sorted(b - a)]
    return out
