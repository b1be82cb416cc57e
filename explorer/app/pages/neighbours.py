"""Nearest neighbours: a place's or PCN's 15 most similar areas in England, with the method on screen
(which features, how standardised and weighted) and every area's feature values beside the chart."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from explorer.app import components as ui
from explorer.app import ids
from explorer.app.auth import current_role
from explorer.app.context import allowed_levels, current_data, role_and_policy
from explorer.app.pages.pyramid import role_note
from explorer.app.state import text_value
from explorer.domain import neighbours as method
from explorer.domain.access import AccessDenied, Role
from explorer.domain.disclosure import apply_policy, format_count
from explorer.errors import DataMissingError
from explorer.figures import describe
from explorer.figures.neighbours import neighbour_profile_figure
from explorer.services import neighbours as service
from explorer.services.app_data import AppData
from explorer.vocab import NEIGHBOUR_FEATURES

MODULE = "explorer.app.pages.neighbours"
PATH = "/neighbours"
NAME = "Nearest neighbours"
ORDER = 9
DESCRIPTION = "A place's or PCN's most similar areas in England by deprivation, age, ethnicity and rurality."
METHOD_TEXT = (
    "Every place (local authority) or PCN in England is described by {n} features in four themes: deprivation "
    "(IMD 2025 population-weighted score; % of people in national decile 1), age structure (% in the six "
    "Census 2021 age bands), ethnicity (% in the five Census 2021 ethnic groups) and rurality (% living in "
    "LSOAs the 2021 Rural Urban Classification calls urban). Places are summed from their LSOAs weighted by "
    "Census 2021 residents; PCNs from the LSOAs their registered patients live in, weighted by those "
    "patients (NHS Digital registrations, July 2023). Each feature becomes a z-score across all areas of the "
    "level in England, and the distance between two areas is the weighted Euclidean distance of their "
    "z-scores. Each theme weighs 1 in all, shared equally among its features, so the six age bands do not "
    "outweigh rurality six to one. This follows the nearest-neighbour idea of CIPFA's model and Fingertips: "
    "compare an area with the ones most like it, wherever they are.")


def area_options(data: AppData, levels: tuple[str, ...]) -> list[dict]:
    areas = data.bundle.areas
    shown = areas[areas["level"].isin([lv for lv in service.NEIGHBOUR_LEVELS if lv in levels])]
    return [{"label": f"{r.area_name} ({data.level_label(r.level, short=True)})", "value": r.area_code}
            for r in shown.itertuples()]


def checked_area(data: AppData, value: Any, role: Role) -> str:
    code = text_value(value, "area")
    levels = [lv for lv in service.NEIGHBOUR_LEVELS if lv in allowed_levels(role)]
    if code not in data.area_level or data.level_of(code) not in levels:
        raise AccessDenied(f"Area {code!r} is not a place or PCN your role may see.", role=str(role))
    return code


def layout(**query: Any) -> html.Div:
    data = current_data()
    try:
        role = current_role()
    except AccessDenied as exc:
        return ui.notice(str(exc), "warning")
    options = area_options(data, allowed_levels(role))
    if not options:
        return ui.notice("Nearest neighbours are for places and PCNs, which your role may not see.", "warning")
    codes = {o["value"] for o in options}
    area = query.get("area") if query.get("area") in codes else options[0]["value"]
    return html.Div([
        dcc.Location(id=ids.NEIGHBOURS_URL, refresh=False),
        html.H1("Nearest neighbours", className="page-title"),
        html.Div(ui.select(ids.NEIGHBOURS_AREA, options, area, "Place or PCN"), className="row-controls panel"),
        html.Section([html.H2("How similarity is measured", className="block-title"),
                      html.P(METHOD_TEXT.format(n=len(method.WEIGHTS))),
                      html.Details([html.Summary("Features and weights"),
                                    ui.data_table(ids.NEIGHBOURS_WEIGHTS_TABLE, *weights_table(), page_size=14)],
                                   className="table-details", open=True)], className="panel"),
        html.Div(id=ids.NEIGHBOURS_CONTENT),
    ], className="neighbours-page")


def weights_table() -> tuple[list[dict], list[dict]]:
    frame = method.explanation()
    rows = [{"theme": r.theme, "label": r.label, "weight": f"{r.weight:.3f}"} for r in frame.itertuples()]
    return [{"name": "Theme", "id": "theme"}, {"name": "Feature", "id": "label"},
            {"name": "Weight", "id": "weight"}], rows


def comparison(data: AppData, level: str, code: str, policy: Any) -> pd.DataFrame:
    """The area (rank 0) and its neighbours with controlled populations and rounded features."""
    own = service.area_row(data.bundle, level, code).to_frame().T.assign(rank=0, distance=0.0)
    frame = pd.concat([own, service.nearest(data.bundle, level, code)], ignore_index=True)
    controlled = apply_policy(frame[["area_code", "population"]].astype({"population": "int64"}), "population",
                              policy)
    frame["population"] = [format_count(v, s) for v, s in zip(controlled["population"],
                                                               controlled["population_suppressed"])]
    return frame


def table(frame: pd.DataFrame, data: AppData, level: str) -> tuple[list[dict], list[dict]]:
    people = "Population (Census 2021 residents)" if level == "place" else "Population (registered, July 2023)"
    columns = [("rank", "Rank"), ("area_name", "Area"), ("area_code", "Code"), ("distance", "Distance"),
               ("care_plans", f"Care-plan data in this app ({data.region_name})"), ("population", people),
               *[(f, label) for f, (label, _) in NEIGHBOUR_FEATURES.items()]]
    rows = []
    for r in frame.to_dict("records"):
        row = {"rank": "this area" if r["rank"] == 0 else int(r["rank"]), "area_name": r["area_name"],
               "area_code": r["area_code"], "distance": f"{float(r['distance']):.2f}",
               "care_plans": "Yes" if r["in_region"] else f"No (outside {data.region_name})",
               "population": r["population"]}
        row.update({f: f"{float(r[f]):.1f}" for f in NEIGHBOUR_FEATURES})
        rows.append(row)
    return [{"name": label, "id": key} for key, label in columns], rows


def comparator_links(data: AppData, level: str, code: str) -> html.P | None:
    """Links that use the neighbours with data here as a comparator group (spine chart, compare areas)."""
    group = service.comparator_group(data.bundle, level, code)
    if not group:
        return None
    spine = "/spine?" + urlencode({"area": code, "cmp": "group", "group": ",".join(group)})
    bars = "/compare?" + urlencode({"level": level, "group": ",".join((code, *group))})
    return html.P(["Use the ", str(len(group)), f" neighbours in {data.region_name} as a comparator group: ",
                   dcc.Link("spine chart", href=spine), " · ", dcc.Link("compare areas (bars with 95% CIs)", href=bars)],
                  className="neighbours-link")


def content(data: AppData, code: str, role: Role) -> list:
    level = data.level_of(code)
    _, policy = role_and_policy(level)
    try:
        frame = comparison(data, level, code, policy)
    except DataMissingError as exc:
        return [ui.notice(str(exc), "warning")]
    outside = int((~frame["in_region"].astype(bool)).sum())
    names = dict(zip(frame["area_code"], frame["area_name"]))
    z = service.zscores(data.bundle, level, list(frame["area_code"]))
    figure = neighbour_profile_figure(z, area_code=code, names=names,
                                      labels={f: label for f, (label, _) in NEIGHBOUR_FEATURES.items()})
    near = frame.iloc[1:]
    summary = describe.describe_series(list(near["area_name"]), list(near["distance"]),
                                       what=f"The {len(near)} areas most like {data.name_of(code)}, by distance",
                                       unit="")
    short = data.level_label(level, short=True)
    shows = (f"{data.name_of(code)} ({short}) and its {len(near)} nearest neighbours among all {short} areas in "
             "England (IoD 2025, Census 2021, RUC 2021, registrations July 2023). Chart: each feature's z-score "
             "(0 = England's average of the level; one unit = one standard deviation). Official statistics, not care-plan records, so "
             f"no SYNTHETIC numbers. {role_note(role)}")
    columns, rows = table(frame, data, level)
    marked = (f"{outside} of the {len(near)} neighbours {'is' if outside == 1 else 'are'} outside {data.region_name}: this app has care-plan "
              f"records for {data.region_name} only, so they are marked “No” and cannot be compared on care-plan "
              "metrics here." if outside else
              f"All {len(near)} neighbours are in {data.region_name}, so all have care-plan data in this app.")
    return [
        html.H2(f"The {len(near)} areas most like {data.name_of(code)}", className="block-title"),
        html.P(shows, className="table-note"),
        ui.notice(marked, "info"),
        comparator_links(data, level, code),
        html.Div([
            html.Section([ui.graph(ids.NEIGHBOURS_GRAPH, figure), ui.sr_only(summary)], className="figure-block",
                         **{"aria-label": "Neighbour features chart"}),
            html.Section([html.H3("Neighbours and their feature values", className="block-title"),
                          ui.data_table(ids.NEIGHBOURS_TABLE, columns, rows, page_size=16)],
                         className="figure-block", **{"aria-label": "Neighbours table"}),
        ], className="grid-2"),
    ]


def register(app: Dash, data: AppData) -> None:
    @app.callback(Output(ids.NEIGHBOURS_CONTENT, "children"), Output(ids.NEIGHBOURS_URL, "search"),
                  Input(ids.NEIGHBOURS_AREA, "value"))
    def send_neighbours(value: str | None) -> tuple[list, str]:
        role = current_role()
        code = checked_area(data, value, role)
        return content(data, code, role), "?" + urlencode({"area": code})
