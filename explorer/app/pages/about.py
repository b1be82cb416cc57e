"""About page: what the data are, where they come from, and how numbers are protected."""

from __future__ import annotations

from typing import Any

from dash import Dash, html

from explorer.app.context import current_data
from explorer.services.app_data import AppData
from explorer.domain.disclosure import SUPPRESSION_NOTE
from explorer.figures import theme

MODULE = "explorer.app.pages.about"
PATH = "/about"
NAME = "About the data"
ORDER = 13
DESCRIPTION = "Sources, methods, disclosure control and the synthetic demo data."


def layout(**query: Any) -> html.Div:
    data = current_data()
    manifest = data.bundle.manifest
    sources = manifest.get("sources", {})
    source_items = [html.Li(f"{name}: {rec.get('title', rec.get('file', ''))}" if isinstance(rec, dict) else name)
                    for name, rec in sources.items()]
    metric_items = [html.Li([html.Strong(info.label), f" ({info.unit}). {info.description}"])
                    for info in data.metrics.values()]
    engine = ("Care-plan metrics come from the person-level records." if data.has_engine() and
              any(m.source != "geography" for m in data.metrics.values())
              else f"Care-plan metrics are not available: {data.engine_problem or 'no records loaded'}.")
    return html.Div([
        html.H1("About the data", className="page-title"),
        html.Section([
            html.H2("Synthetic data", className="block-title"),
            html.P(theme.SYNTHETIC_NOTE if data.synthetic else "The records are real extracts."),
            html.Ul([html.Li(r[0].upper() + r[1:] + ".") for r in data.synthetic_reasons]) if data.synthetic else None,
            html.P(f"GP registrations: {manifest.get('gp_registrations', 'unknown')}. Bundle built "
                   f"{manifest.get('built_at', '?')} with tool version {manifest.get('tool_version', '?')}."),
            html.P(engine),
        ], className="panel"),
        html.Section([
            html.H2("Disclosure control", className="block-title"),
            html.P(SUPPRESSION_NOTE + ". Rates and percentages are recomputed from the rounded numerator and "
                   "denominator. Where a hidden number could be worked out from totals, a second number is hidden "
                   "too. Analysts inside the secure environment see unrounded values; downloads are always "
                   "controlled, whatever the role."),
        ], className="panel"),
        html.Section([html.H2("Metrics", className="block-title"), html.Ul(metric_items)], className="panel"),
        html.Section([html.H2("Sources", className="block-title"), html.P(theme.PUBLIC_SOURCES),
                      html.Ul(source_items)], className="panel"),
    ])


def register(app: Dash, data: AppData) -> None:
    return None
