"""The report's Plan section: one row per phase with its counts, its items inside."""

from __future__ import annotations

import html

from vvgate.plan.states import STATES, ItemTrace, PhaseTrace, PlanTrace
from vvgate.report.redaction import redact

# One colour per state, readable on white (WCAG AA against the badge's text).
COLOURS = {"verified": "#1a7f37", "failed": "#cf222e", "inconclusive": "#9a6700",
           "not run": "#57606a", "no check": "#8250df", "manual": "#0969da"}
STYLE = """
#plan .badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;
  font-size:12px;font-weight:600;margin-right:4px;white-space:nowrap}
#plan details{border:1px solid #d0d7de;border-radius:6px;margin:4px 0;padding:4px 8px}
#plan summary{cursor:pointer;font-weight:600}
#plan table{border-collapse:collapse;width:100%;margin-top:6px}
#plan td{border-top:1px solid #eaeef2;padding:3px 6px;vertical-align:top;font-size:13px}
#plan .why{color:#57606a;font-size:12px}
"""


def _esc(text: str) -> str:
    return html.escape(redact(text))


def _badge(state: str, label: str | None = None) -> str:
    return (f'<span class="badge" style="background:{COLOURS[state]}">'
            f"{_esc(label or state)}</span>")


def _counts(counts: dict[str, int]) -> str:
    return "".join(_badge(state, f"{n} {state}") for state, n in counts.items() if n)


def _item_row(item: ItemTrace) -> str:
    notes = []
    if item.checks:
        notes.append("checks: " + ", ".join(item.checks))
    notes += item.reasons
    if item.item.deviation:
        notes.append("documented deviation: " + " ".join(item.item.deviation.split()))
    why = "".join(f'<div class="why">{_esc(n)}</div>' for n in notes)
    return (f'<tr class="plan-item" data-state="{_esc(item.state)}">'
            f"<td>{_esc(item.item.id)}</td><td>{_badge(item.state)}</td>"
            f"<td>{_esc(item.item.text)}{why}</td></tr>")


def _phase(phase: PhaseTrace) -> str:
    counts = phase.counts()
    # A phase with a failed or inconclusive item opens by itself.
    opened = " open" if counts["failed"] or counts["inconclusive"] else ""
    rows = "".join(_item_row(i) for i in phase.items)
    return (f'<details class="plan-phase"{opened}><summary>Phase {_esc(phase.id)}: '
            f"{_esc(phase.title)} {_counts(counts)}</summary><table>{rows}</table></details>")


def plan_section(plan: PlanTrace) -> str:
    legend = "".join(_badge(s) for s in STATES)
    return (f'<section id="plan" class="vv"><style>{STYLE}</style><h2>Deployment plan</h2>'
            f"<p>{_counts(plan.counts())}</p><p class=\"why\">states: {legend}</p>"
            + "".join(_phase(p) for p in plan.phases) + "</section>")
