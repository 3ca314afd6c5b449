"""The GraphQL documents of the signed-in journeys, built like every other request of the run.

The Locust process gets them ready-made in its plan: the same builder (the target's schema,
or the contract's minimal shapes without one) makes them, so there is no second copy of an
operation's shape. Values known only inside a journey travel as placeholders.
"""

from __future__ import annotations

from typing import Any

from vvgate.access.graphql_ops import FALLBACK
from vvgate.access.operation_builder import OperationMissing, build
from vvgate.access.target_schema import TargetSchema
from vvgate.errors import ConfigError
from vvgate.load.steps import RECORD_ID, RELEASE_ID

# journey step -> (operation, the check's values)
JOURNEY_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "records.list": ("records", {"first": 20}),
    "record.read": ("record", {"id": RECORD_ID}),
    "record.create": ("createRecord", {"releaseId": RELEASE_ID, "notes": "vvgate load"}),
    "record.delete": ("deleteRecord", {"id": RECORD_ID}),
}


def journey_operations(schema: TargetSchema) -> dict[str, dict[str, Any]]:
    """step -> {"field", "query", "variables"} for the locustfile."""
    out = {}
    for step, (field, values) in JOURNEY_CALLS.items():
        if schema.schema is None:
            query, variables = FALLBACK[field].document(values), {}
        else:
            try:
                built = build(schema.schema, field, values)
            except OperationMissing:
                raise ConfigError(f"the load journeys need {field}, which the target's schema "
                                  f"({schema.source}) does not have") from None
            query, variables = built.document, built.variables
        out[step] = {"field": field, "query": query, "variables": variables}
    return out
