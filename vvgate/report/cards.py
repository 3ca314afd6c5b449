"""One section per gate that failed or is inconclusive, with a card per check that did.

A card is what the person on call reads first: the check's one-line cause, what it verifies,
and the evidence it recorded, inline. Tracebacks and fixture values stay in pytest-html's
table below the summary, which keeps every detail.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vvgate.gates.catalog import GATES
from vvgate.gates.verdicts import FAILED, GateResult, Outcome, Verdict
from vvgate.report.evidence import RESPONSE_SEPARATOR, EvidenceItem
from vvgate.report.summary import MARKS
from vvgate.report.view import CheckFacts, ReportView, esc

MAX_CAUSE = 400
# Past this many items, only the last few (usually the decisive exchange) start open.
OPEN_ITEMS = 3
_EXCEPTION_PREFIX = re.compile(r"^(?:AssertionError|Failed)\s*:\s*")
# `<TopologyDescription id: …>`, `<Response [503]>`, `<foo.Bar object at 0x…>`; not `< 400 ms`
# or a tag of a quoted HTML body.
_OBJECT_REPR = re.compile(r"<(?:[A-Z][\w.]*[ :(\[]|[\w.]+ (?:object )?at 0x)")

# Links a card adds for its gate, e.g. the load gate's chart: (href, text) pairs.
CardLinks = Callable[[Outcome], list[tuple[str, str]]]


def _without_reprs(text: str) -> str:
    """Python object reprs (`<TopologyDescription …>`) cut to an ellipsis; they bury a cause."""
    out, i = [], 0
    while (m := _OBJECT_REPR.search(text, i)) is not None:
        depth, j = 0, m.start()
        while j < len(text):
            depth += {"<": 1, ">": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        if depth:  # never closed: not a repr after all
            break
        out.append(text[i:m.start()] + "…")
        i = j
    out.append(text[i:])
    return "".join(out)


def cause_line(message: str) -> str:
    """The one line that says why: no assertion rewriting, exception type or object repr."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    first = lines[0].strip() if lines else "(no message)"
    first = _without_reprs(_EXCEPTION_PREFIX.sub("", first))
    return first if len(first) <= MAX_CAUSE else first[:MAX_CAUSE - 1].rstrip() + "…"


def _evidence_html(item: EvidenceItem, open_: bool) -> str:
    body = item.content
    if item.kind == "exchange" and RESPONSE_SEPARATOR in body:
        request, _, response = body.partition(RESPONSE_SEPARATOR)
        inner = (f'<div class="exchange"><div><h5>request</h5><pre>{esc(request)}</pre></div>'
                 f'<div><h5>response</h5><pre>{esc(response)}</pre></div></div>')
    else:
        inner = f'<pre class="{esc(item.kind)}">{esc(body)}</pre>'
    return (f'<details class="evidence"{" open" if open_ else ""}>'
            f"<summary>{esc(item.title)}</summary>{inner}</details>")


def card(outcome: Outcome, facts: CheckFacts | None, links: list[tuple[str, str]]) -> str:
    path, _, name = outcome.nodeid.rpartition("::")
    kind = "fail" if outcome.outcome == FAILED else "inconclusive"
    label = "FAILED" if outcome.outcome == FAILED else "INCONCLUSIVE"
    parts = [f'<header><span class="chip v-{kind}">{label}</span>'
             f' <span class="check-name">{esc(name)}</span>'
             f' <span class="check-path">{esc(path)}</span>'
             '<a class="full-output" href="#all-checks">full output below</a></header>',
             f'<p class="cause">{esc(cause_line(outcome.message))}</p>']
    if facts is not None and facts.verifies:
        parts.append(f'<p class="verifies">Verifies {esc(facts.verifies)}</p>')
    if links:
        parts.append('<p class="see">See ' + " · ".join(
            f'<a href="{esc(href)}">{esc(text)}</a>' for href, text in links) + "</p>")
    items = facts.evidence if facts is not None else []
    if items:
        first_open = len(items) - OPEN_ITEMS if len(items) > OPEN_ITEMS + 1 else 0
        parts.append('<div class="evidence-list">' + "".join(
            _evidence_html(item, n >= first_open) for n, item in enumerate(items)) + "</div>")
    return f'<article class="card card-{kind}">{"".join(parts)}</article>'


def has_section(r: GateResult) -> bool:
    return bool(r.failures() or r.inconclusive()) or r.verdict in {Verdict.FAIL,
                                                                  Verdict.INCONCLUSIVE}


def gate_section(view: ReportView, r: GateResult, figures: str = "",
                 links: CardLinks | None = None) -> str:
    """The gate's heading, why it is not a pass, its cards, then any figures it left."""
    blocking = r.severity.value + ("" if r.blocks or r.verdict is Verdict.PASS
                                   else ", does not block this release")
    head = (f'<h2><span class="chip v-{r.verdict.value}">{MARKS[r.verdict]}</span> '
            f'{esc(r.name)} <small>({esc(blocking)})</small></h2>'
            f'<p class="gate-what">{esc(GATES[r.name].summary)}</p>')
    notes = [f"waiver expired {w.expires}: {w.subject} ({w.reason})" for w in r.expired_waivers]
    notes += [why] if (why := r.why_not_verified()) and r.verdict is not Verdict.INCONCLUSIVE \
        else []
    head += "".join(f'<p class="vv-note">{esc(n)}</p>' for n in notes)
    cards = "".join(card(o, view.facts.get(o.nodeid), links(o) if links else [])
                    for o in [*r.failures(), *r.inconclusive()])
    return (f'<section id="gate-{esc(r.name)}" class="vv gate-section">'
            f"{head}{cards}{figures}</section>")
