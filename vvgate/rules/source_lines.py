"""Where in its source file a finding's field is: the line code scanning points at.

The rendered object came from one document of a YAML file (kustomize's origin annotation).
The finding's field path is followed through that document's nodes as far as it goes: a
field an overlay's patch added is not in the base file, so its nearest parent is shown, and
an object the file does not hold by that kind and name (a generated or prefixed name) is
shown at line 1.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

_STEP = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def steps(dotted: str) -> list[str | int]:
    """`spec.containers[0].env` -> ["spec", "containers", 0, "env"];
    `metadata.annotations[cert-manager.io/cluster-issuer]` keeps the bracketed key whole."""
    out: list[str | int] = []
    for name, bracket in _STEP.findall(dotted):
        if name:
            out.append(name)
        else:
            out.append(int(bracket) if bracket.isdigit() else bracket)
    return out


@lru_cache(maxsize=256)
def _documents(path: Path) -> tuple[yaml.Node, ...]:
    try:
        return tuple(n for n in yaml.compose_all(path.read_text(encoding="utf-8")) if n)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next((v for k, v in node.value if getattr(k, "value", None) == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def _scalar(node: yaml.Node, *path: str) -> str | None:
    for step in path:
        found = _child(node, step)
        if found is None:
            return None
        node = found
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def line_of(source: str | None, kind: str, name: str, dotted: str) -> int:
    """1-based line of the field `dotted` of object kind/name in `source`, or of its nearest
    parent there; 1 when the file does not hold the object."""
    if not source:
        return 1
    for doc in _documents(Path(source)):
        if _scalar(doc, "kind") != kind or _scalar(doc, "metadata", "name") != name:
            continue
        node = doc
        for step in steps(dotted):
            found = _child(node, step)
            if found is None:
                break
            node = found
        return int(node.start_mark.line) + 1
    return 1
