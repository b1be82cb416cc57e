"""What the spine chart, overview and compare-areas pages share: the view read from the URL for
the request's role, the controls that rewrite the URL, the caption and the SYNTHETIC label.

The pages draw everything in their layout from the URL (Dash Pages re-runs the layout when the
URL changes): a control's only callback writes the new URL, so there is no view store to forge
and a pasted link reproduces the view. Each layout checks the role (levels, clinical metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from dash import Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate

from explorer.app import components as ui
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, role_and_policy
from explorer.app.state import query_from_search, text_value
from explorer.app.state_views import AreasView
from explorer.domain import access
from explorer.domain.access import AccessDenied, Role
from explorer.domain.disclosure import DisclosurePolicy
from explorer.figures import theme
from explorer.services.app_data import AppData
from explorer.services.area_views import Scope, ordered_metrics
from explorer.vocab import LEVEL_CONTROL_LABELS

ROW_LIMIT = 300  # areas in one overview or compare view (LSOAs: choose a parent first)


def visible(data: AppData, role: Role, *, care_only: bool) -> list[str]:
    """The metrics the role may see, in theme order."""
    return ordered_metrics(data, access.visible_metrics(list(data.metrics), role), care_only=care_only)


def read_view(data: AppData, query: Mapping[str, Any], role: Role, **kwargs: Any) -> AreasView:
    """The page's view from URL values, valid for the role (its levels and metrics)."""
    metrics = visible(data, role, care_only=True)
    default = "coverage" if "coverage" in metrics else (metrics[0] if metrics else data.default_metric())
    return AreasView.from_query(query, levels=allowed_levels(role), metrics=tuple(metrics), default_metric=default,
                                area_level=data.area_level, **kwargs)


def scope(view: AreasView, level: str) -> tuple[Role, DisclosurePolicy, Scope]:
    """The role (checked against `level`), its policy, and the scope every number is computed in."""
    role, policy = role_and_policy(level)
    return role, policy, Scope(view.effective_filters, view.risk, policy)


def parent_options(data: AppData, role: Role, level: str) -> list[dict]:
    """The region and every area above `level` the role may see, as select options."""
    options = [{"label": f"{data.region_name} (whole region)", "value": data.region_code}]
    for lv in allowed_levels(role):
        if lv == level:
            break
        options += [{"label": f"{data.name_of(c)} ({LEVEL_CONTROL_LABELS[lv]})", "value": c}
                    for c in data.geometry[lv].codes]
    return options


def level_options(levels: Sequence[str]) -> list[tuple[str, str]]:
    return [(LEVEL_CONTROL_LABELS[lv], lv) for lv in levels]


def profile_href(view: AreasView, code: str) -> str:
    """The area profile of `code` with the view's filters (the profile reads both from its URL)."""
    return "/profile?" + urlencode({"area": code, **view.filters.to_query()}, safe=",:")


def caption_block(data: AppData, text: str, *, synthetic: bool) -> html.P:
    """The line above a figure or table saying what it shows; starts with SYNTHETIC DATA when so."""
    mark = [html.Strong(theme.SYNTHETIC_MARK, className="synthetic-mark"), " · "] if synthetic else []
    return html.P([*mark, text], className="view-caption")


def too_many(n: int) -> Any:
    return ui.notice(f"{n:,} areas: showing the first {ROW_LIMIT}. Choose a parent area to see fewer.", "info")


def register_url_control(app: Dash, *, url_id: str, controls: Mapping[str, str],
                         parse: Callable[[AppData, dict, Role], AreasView], data: AppData) -> None:
    """One callback: a control changed -> the page's new URL (Dash Pages redraws the page from it).

    `controls` maps view fields (level, area, metric, comparator) to control ids. The new view is
    read back through `parse`, so a value the role may not have falls back as in a pasted URL."""
    names = list(controls)

    @app.callback(Output(url_id, "search"), *[Input(controls[n], "value") for n in names],
                  State(url_id, "search"), prevent_initial_call=True)
    def follow_controls(*args: Any) -> str:
        *values, search = args
        role = current_role()
        current = parse(data, query_from_search(text_value(search, "search")), role)
        query = current.to_query()
        for name, value in zip(names, values):
            value = text_value(value, name)
            if value is None:
                continue
            if name == "level" and value not in allowed_levels(role):  # no control offers it: forged
                raise AccessDenied(f"Role '{role}' may not see {LEVEL_CONTROL_LABELS.get(value, value)}-level data.",
                                   role=str(role))
            key = {"comparator": "cmp"}.get(name, name)
            if name == "area" and value == data.region_code:
                query.pop("area", None)
            else:
                query[key] = value
        new = parse(data, query, role)
        if new == current:
            raise PreventUpdate
        return new.to_search()

