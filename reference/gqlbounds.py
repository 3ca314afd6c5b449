"""Request bounds as graphql-armor enforces them for Apollo: aliases, directives, depth and
cost, counted on the parsed document and refused before validation or execution."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    visit,
)

from reference import faults

MAX_ALIASES = 15
MAX_DIRECTIVES = 15
MAX_DEPTH = 10
# graphql-armor's cost-limit plugin and its cost model: a leaf costs 1, an object 2 plus its
# selections, each level down weighted by 1.5. The limit is a tenth of armor's default (5000):
# the largest request the application sends costs under 100.
MAX_COST, OBJECT_COST, SCALAR_COST, DEPTH_COST_FACTOR = 500, 2, 1, 1.5
_INTROSPECTION = frozenset({"__schema", "__type"})


class _Count(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.aliases = 0
        self.directives = 0

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.alias is not None:
            self.aliases += 1

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        self.directives += 1


def _measure(selection_set: SelectionSetNode | None,
             fragments: dict[str, FragmentDefinitionNode],
             of_field: Callable[[FieldNode, float], float],
             combine: Callable[[list[float]], float],
             seen: frozenset[str] = frozenset()) -> float:
    """Folds a selection set: `of_field(field, measure of its own selections)` for each field,
    `combine` over siblings; a fragment counts where it is spread, as if written there."""
    if selection_set is None:
        return 0.0
    values: list[float] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in _INTROSPECTION:
                continue  # graphql-armor's ignoreIntrospection: introspection has its own rule
            inner = _measure(selection.selection_set, fragments, of_field, combine, seen)
            values.append(of_field(selection, inner))
        elif isinstance(selection, InlineFragmentNode):
            values.append(_measure(selection.selection_set, fragments, of_field, combine, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                values.append(_measure(fragment.selection_set, fragments, of_field, combine,
                                       seen | {name}))
    return combine(values)


def _depth(selection_set: SelectionSetNode | None,
           fragments: dict[str, FragmentDefinitionNode]) -> int:
    """Field nesting: `{ a }` is 1, `{ a { b } }` is 2."""
    return int(_measure(selection_set, fragments, lambda _, inner: 1 + inner,
                        lambda values: max(values, default=0.0)))


def _field_cost(field: FieldNode, inner: float) -> float:
    if field.selection_set is None:
        return SCALAR_COST
    return OBJECT_COST + DEPTH_COST_FACTOR * inner


def _cost(selection_set: SelectionSetNode | None,
          fragments: dict[str, FragmentDefinitionNode]) -> float:
    """What the selections cost; every copy of a field counts, as it does for the plugin."""
    return _measure(selection_set, fragments, _field_cost, sum)


def beyond_bounds(document: DocumentNode) -> str | None:
    """Why the document is refused, or None within the bounds."""
    count = _Count()
    visit(document, count)
    if count.aliases > MAX_ALIASES and not faults.active("unbounded-aliases"):
        return f"Aliases limit of {MAX_ALIASES} exceeded, found {count.aliases}."
    if count.directives > MAX_DIRECTIVES and not faults.active("unbounded-directives"):
        return f"Directives limit of {MAX_DIRECTIVES} exceeded, found {count.directives}."
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    depth = max((_depth(d.selection_set, fragments) for d in operations), default=0)
    if depth > MAX_DEPTH and not faults.active("unbounded-depth"):
        return f"Query depth limit of {MAX_DEPTH} exceeded, found {depth}."
    cost = max((_cost(d.selection_set, fragments) for d in operations), default=0.0)
    if cost > MAX_COST and not faults.active("unbounded-cost"):
        return f"Query Cost limit of {MAX_COST} exceeded, found {cost:g}."
    return None
