"""report.html's summary, top to bottom: one renderer per section, in the order a person on
call reads them. pytest-html's table of all checks follows the TOP sections; the BOTTOM ones
come after it.

A renderer takes the ReportView and returns HTML ("" for nothing). To add a section, add its
renderer here at its place.
"""

from __future__ import annotations

from collections.abc import Callable

from vvgate.gates.verdicts import GateResult
from vvgate.plan.html import plan_section
from vvgate.report import cards, run_sections
from vvgate.report.summary import html_table
from vvgate.report.view import ReportView

Section = Callable[[ReportView], str]


def _shown_gates(view: ReportView) -> list[GateResult]:
    """Gates with a section of their own: those not passing, and any that left figures."""
    return [r for r in view.result.gates
            if cards.has_section(r) or (r.name in _FIGURES and view.gate_data(r.name))]


def gate_table(view: ReportView) -> str:
    linked = {r.name for r in _shown_gates(view)}
    return (f'<section id="gates-section" class="vv"><h2>Gates</h2>'
            f"{html_table(view.result, linked)}</section>")


def plan(view: ReportView) -> str:
    """The deployment plan's phases against this run, their items inside."""
    return plan_section(view.run.plan) if view.run.plan is not None else ""


def _load_figures(view: ReportView) -> str:
    from vvgate.load.report import figures_html  # the load engine only when it left figures

    return figures_html(view.run.report_dir, view.gate_data("load"))


def _load_links(view: ReportView) -> cards.CardLinks | None:
    from vvgate.load.report import card_links

    return card_links if view.gate_data("load") else None


# Figures a gate leaves in gates.json (`gates[].data`), drawn in its section, and the links
# its failure cards add to them.
_FIGURES: dict[str, tuple[Section, Callable[[ReportView], cards.CardLinks | None]]] = {
    "load": (_load_figures, _load_links),
}


def gate_sections(view: ReportView) -> str:
    out = []
    for r in _shown_gates(view):
        figures, links = _FIGURES.get(r.name, (None, None))
        drawn = figures(view) if figures is not None and view.gate_data(r.name) else ""
        out.append(cards.gate_section(view, r, drawn, links(view) if links else None))
    return "".join(out)


TOP: list[Section] = [
    run_sections.banner,
    gate_table,
    plan,
    gate_sections,
    run_sections.run_facts,
    run_sections.all_checks_heading,
]
BOTTOM: list[Section] = [
    run_sections.environment,
]


def compose(view: ReportView) -> tuple[list[str], list[str]]:
    """The HTML of the TOP and the BOTTOM sections, the empty ones left out."""
    def render(sections: list[Section]) -> list[str]:
        return [html for html in (section(view) for section in sections) if html]
    return render(TOP), render(BOTTOM)
