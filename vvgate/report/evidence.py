"""Evidence a check collects while it runs, attached to the report when it fails."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vvgate.report.redaction import redact

# Between the two sides of an exchange; the report's failure cards split on it.
RESPONSE_SEPARATOR = "\n\n--- response ---\n"


@dataclass
class EvidenceItem:
    name: str
    kind: str  # "text" | "json" | "exchange" (text: request, RESPONSE_SEPARATOR, response)
    recorded: str = field(repr=False)

    @property
    def content(self) -> str:
        # Redacted again on every read: a secret resolved after the check recorded this item
        # (a fixture that reads it late) is masked too.
        return redact(self.recorded)

    @property
    def title(self) -> str:
        return redact(self.name)


@dataclass
class Evidence:
    items: list[EvidenceItem] = field(default_factory=list)
    # Requests the target answered 429: a check that then fails saw the rate limit, not the
    # property it looks at (vvgate/gates/outcome_hooks.py makes it inconclusive).
    rate_limited: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        # pytest prints a failing check's arguments; the items themselves are in the report.
        names = "; ".join(item.title for item in self.items)
        return f"Evidence({len(self.items)} item(s){': ' + names if names else ''})"

    def text(self, name: str, content: str) -> None:
        self.items.append(EvidenceItem(name, "text", redact(content)))

    def json(self, name: str, payload: Any) -> None:
        rendered = json.dumps(payload, indent=2, default=str, sort_keys=True)
        self.items.append(EvidenceItem(name, "json", redact(rendered)))

    def exchange(self, name: str, request: str, response: str) -> None:
        """An HTTP (or other wire) exchange, as text on both sides."""
        joined = f"{request.rstrip()}{RESPONSE_SEPARATOR}{response}"
        self.items.append(EvidenceItem(name, "exchange", redact(joined)))
