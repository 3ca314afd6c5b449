"""Evidence a check collects while it runs, attached to the report when it fails."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vvgate.report.redaction import redact


@dataclass
class EvidenceItem:
    name: str
    kind: str  # "text" | "json"
    content: str


@dataclass
class Evidence:
    items: list[EvidenceItem] = field(default_factory=list)
    # Requests the target answered 429: a check that then fails saw the rate limit, not the
    # property it looks at (vvgate/gates/outcome_hooks.py makes it inconclusive).
    rate_limited: list[str] = field(default_factory=list)

    def text(self, name: str, content: str) -> None:
        self.items.append(EvidenceItem(name, "text", redact(content)))

    def json(self, name: str, payload: Any) -> None:
        rendered = json.dumps(payload, indent=2, default=str, sort_keys=True)
        self.items.append(EvidenceItem(name, "json", redact(rendered)))

    def exchange(self, name: str, request: str, response: str) -> None:
        """An HTTP (or other wire) exchange, as text on both sides."""
        self.text(name, f"{request.rstrip()}\n\n--- response ---\n{response}")
