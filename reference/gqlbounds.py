"""Request bounds as graphql-armor enforces them for Apollo: aliases, directives and depth,
counted on the parsed document and refused before validation or execution."""

from __future__ import annotations

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


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           seen: frozenset[str] = frozenset()) -> int:
    """Field nesting: `{ a }` is 1, `{ a { b } }` is 2; fragments count where they are spread."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in _INTROSPECTION:
                continue  # graphql-armor's ignoreIntrospection: introspection has its own rule
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


def beyond_bounds(document: DocumentNode) -> str | None:
    """Why the document is refused, or None within the bounds."""
    count = _Count()
    visit(document, count)
    if count.aliases > MAX_ALIASES and not faults.active("unbounded-aliases"):
        return f"Aliases limit of {MAX_ALIASES} exceeded, found {count.aliases}."
    if count.directives > MAX_DIRECTIVES and not faults.active("unbounded-directives"):
        return f"Directives limit of {MAX_DIRECTIVES} exceeded, found {count.directives}."
    if faults.active("unbounded-depth"):
        return None
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    depth = max((_depth(d.selection_set, fragments) for d in document.definitions
                 if isinstance(d, OperationDefinitionNode)), default=0)
    if depth > MAX_DEPTH:
        return f"Query depth limit of {MAX_DEPTH} exceeded, found {depth}."
    return None
