"""Requests for GraphQL operations, built from the target's own schema.

The contract names the operations and their arguments; the schema says how to call them.
From it every request gets:

- variables for each argument a check gives a value for, and for each required one, with
  values of the argument's real type (enums from the schema, input objects filled field by
  field, required fields the contract never mentions given valid synthetic values);
- a selection set of fields that exist: scalars as they are, object fields by their own
  fields a few levels down, union and interface results by fragments per member.

Checks give values by the contract's field names (`releaseId`, `tenantId`, ...). A dotted
name (`installation.id`) targets a field inside a given input object, where a bare one
would be ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    is_required_argument,
)

PLACEHOLDER_ID = "000000000000000000000000"
# Object levels selected below an operation's own result: enough for records' edges, node and
# its fields, few enough for any sane depth or cost limit.
SELECTION_DEPTH = 3
_OMIT = object()


class OperationMissing(LookupError):
    """The schema has no such root field."""


@dataclass(frozen=True)
class Built:
    kind: str  # "query" | "mutation"
    field: str
    document: str
    variables: dict[str, Any]


def root_kind(schema: GraphQLSchema, field: str) -> str | None:
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        if root is not None and field in root.fields:
            return kind
    return None


def build(schema: GraphQLSchema, field: str, hints: Mapping[str, Any] | None = None,
          kind: str | None = None) -> Built:
    kind = kind or root_kind(schema, field)
    root = schema.query_type if kind == "query" else schema.mutation_type
    if kind is None or root is None or field not in root.fields:
        raise OperationMissing(field)
    definition: GraphQLField = root.fields[field]
    hints = dict(hints or {})
    declared, passed, variables = [], [], {}
    for name, arg in definition.args.items():
        value = _value(arg.type, (name,), hints)
        if value is _OMIT:
            continue
        declared.append(f"${name}: {arg.type}")
        passed.append(f"{name}: ${name}")
        variables[name] = value
    head = f"{kind} vvgate_{field}" + (f"({', '.join(declared)})" if declared else "")
    call = field + (f"({', '.join(passed)})" if passed else "")
    selection = select(definition.type, schema)
    document = f"{head} {{ {call}{' ' + selection if selection else ''} }}"
    return Built(kind, field, document, variables)


# --------------------------------------------------------------------------- inputs


def _hint(path: tuple[str, ...], hints: Mapping[str, Any]) -> Any:
    for size in range(len(path), 0, -1):
        key = ".".join(path[-size:])
        if key in hints:
            return hints[key]
    return _OMIT


def _value(type_: GraphQLInputType, path: tuple[str, ...], hints: Mapping[str, Any]) -> Any:
    required = is_non_null_type(type_)
    inner: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    hint = _hint(path, hints)
    if hint is not _OMIT:
        return _coerce(inner, hint, path, hints)
    if isinstance(inner, GraphQLInputObjectType):
        built = _input_object(inner, path, hints)
        return built if (built or required) else _OMIT
    if not required:
        return _OMIT
    return _synthetic(inner, path, hints)


def _input_object(type_: GraphQLInputObjectType, path: tuple[str, ...],
                  hints: Mapping[str, Any], given: Mapping[str, Any] | None = None,
                  ) -> dict[str, Any]:
    out = {}
    for name, field in type_.fields.items():
        if given is not None and name in given:
            value = _coerce(get_nullable(field.type), given[name], (*path, name), hints)
        else:
            value = _value(field.type, (*path, name), hints)
        if value is not _OMIT:
            out[name] = value
    return out


def get_nullable(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _coerce(type_: Any, value: Any, path: tuple[str, ...], hints: Mapping[str, Any]) -> Any:
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list | tuple) else [value]
        return [_coerce(get_nullable(type_.of_type), v, path, hints) for v in items]
    if isinstance(type_, GraphQLInputObjectType):
        given = value if isinstance(value, Mapping) else None
        return _input_object(type_, path, hints, given)
    if isinstance(type_, GraphQLEnumType):
        return _enum_value(type_, value)
    if isinstance(type_, GraphQLScalarType):
        return _scalar(type_.name, value)
    return value


def _enum_value(type_: GraphQLEnumType, wanted: Any) -> str:
    names: list[str] = [str(n) for n in type_.values]
    for name in names:
        if str(wanted).lower() == name.lower():
            return name
    return names[0]


def _scalar(name: str, value: Any) -> Any:
    try:
        if name == "Int":
            return int(value)
        if name == "Float":
            return float(value)
    except (TypeError, ValueError):
        return synthetic_scalar(name, "")
    if name == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if name in {"String", "ID"}:
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value  # a custom scalar takes the value as the check gave it


def _synthetic(type_: Any, path: tuple[str, ...], hints: Mapping[str, Any]) -> Any:
    if isinstance(type_, GraphQLList):
        return [_synthetic(get_nullable(type_.of_type), path, hints)]
    if isinstance(type_, GraphQLInputObjectType):
        return _input_object(type_, path, hints)
    if isinstance(type_, GraphQLEnumType):
        return str(next(iter(type_.values)))
    assert isinstance(type_, GraphQLScalarType)
    return synthetic_scalar(type_.name, path[-1])


def synthetic_scalar(type_name: str, field: str) -> Any:
    """A valid value of a scalar no check gave a value for, guessed from its names."""
    words = f"{type_name} {field}".lower()
    if type_name == "Boolean":
        return False
    if type_name == "Int" or re.search(r"\b(int|long|bigint)\b", type_name.lower()):
        return 1
    if type_name == "Float" or re.search(r"float|decimal|money|price", type_name.lower()):
        return 1.0
    if type_name == "ID" or re.search(r"objectid|\bid\b", type_name.lower()):
        return PLACEHOLDER_ID
    if "json" in type_name.lower():
        return {}
    if "email" in words:
        return "vvgate-probe@invalid.test"
    if re.search(r"url|uri", words):
        return "https://invalid.test/vvgate"
    if type_name.lower() == "date" or re.search(r"date$|^date", field.lower()):
        return "2026-01-01"
    if re.search(r"date|time", type_name.lower()) or field.endswith("At"):
        return "2026-01-01T00:00:00.000Z"
    return "vvgate-probe"


# --------------------------------------------------------------------------- selections


def select(type_: GraphQLOutputType, schema: GraphQLSchema) -> str:
    """The selection set for a result of `type_`: "" for a scalar or enum."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    return "{ " + _fields(named, SELECTION_DEPTH, (named.name,), schema) + " }"


def _fields(named: GraphQLNamedType, depth: int, path: tuple[str, ...],
            schema: GraphQLSchema) -> str:
    parts: list[str] = []
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        parts.append("__typename")
        members = (named.types if isinstance(named, GraphQLUnionType)
                   else schema.get_possible_types(named))
        for member in members:
            inner = _object_fields(member, depth, (*path, member.name), schema)
            if inner:
                parts.append(f"... on {member.name} {{ {' '.join(inner)} }}")
        if isinstance(named, GraphQLInterfaceType):
            parts[1:1] = _object_fields(named, depth, path, schema)
    elif isinstance(named, GraphQLObjectType):
        parts = _object_fields(named, depth, path, schema)
    return " ".join(parts) or "__typename"


def _object_fields(named: GraphQLObjectType | GraphQLInterfaceType, depth: int,
                   path: tuple[str, ...], schema: GraphQLSchema) -> list[str]:
    out = []
    for name, field in named.fields.items():
        if name.startswith("__") or any(map(is_required_argument, field.args.values())):
            continue
        child = get_named_type(field.type)
        if is_leaf_type(child):
            out.append(name)
        elif depth > 1 and child.name not in path:
            out.append(f"{name} {{ {_fields(child, depth - 1, (*path, child.name), schema)} }}")
    return out
