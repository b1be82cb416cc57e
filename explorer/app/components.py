"""Small layout builders shared by the pages: labelled controls, legends, tables, figure blocks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from explorer.app import grid
from explorer.app.grid import TABLE_PAGE_SIZE, grid_props  # noqa: F401 - the tables' public face
from explorer.domain.disclosure import MISSING, SUPPRESSION_NOTE
from explorer.figures import theme
from explorer.figures.classify import Classes


def dom_id(component_id: Any) -> str:
    """The id Dash renders in the page: dict ids become JSON with sorted keys."""
    if isinstance(component_id, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(component_id[k])}" for k in sorted(component_id)) + "}"
    return str(component_id)


def field(label: str, control: Any, control_id: Any, help_text: str | None = None) -> html.Div:
    """A control with a visible label bound to it (and optional help text)."""
    children = [html.Label(label, htmlFor=dom_id(control_id), className="form-label"), control]
    if help_text:
        children.append(html.Div(help_text, className="form-help"))
    return html.Div(children, className="form-field")


def fieldset(legend: str, children: Sequence[Any], class_name: str = "") -> html.Fieldset:
    return html.Fieldset([html.Legend(legend, className="form-legend"), *children],
                         className=f"form-fieldset {class_name}".strip())


def radio(control_id: Any, options: Sequence[tuple[str, Any]], value: Any, label: str) -> html.Fieldset:
    """Native radio buttons in a fieldset whose legend names them (keyboard: Tab in, arrow keys between).

    dash-bootstrap-components rather than dcc: Dash 4's dcc.RadioItems/Checklist wrap each input in a
    role="option" label (axe: nested-interactive, serious).
    """
    return fieldset(label, [dbc.RadioItems(
        id=control_id, options=[{"label": text, "value": v} for text, v in options], value=value,
        name=dom_id(control_id),  # one name = one group: a single Tab stop, arrow keys move the choice
        class_name="radio-group",
    )])


def checklist(control_id: Any, options: Sequence[tuple[str, Any]], value: Sequence[Any], label: str,
              inline: bool = True) -> html.Fieldset:
    """Native checkboxes in a fieldset; no boxes ticked means no filter ("all")."""
    return fieldset(label, [dbc.Checklist(
        id=control_id, options=[{"label": text, "value": v} for text, v in options], value=list(value),
        inline=inline, class_name="check-group",
    )])


def select(control_id: Any, options: Sequence[dict], value: Any, label: str, *, placeholder: str | None = None,
           help_text: str | None = None) -> html.Div:
    """A native <select>: keyboard, type-ahead and screen readers work as the browser provides.

    Not dcc.Dropdown: in Dash 4 its only focusable element is an aria-hidden input (axe:
    aria-hidden-focus, serious), so keyboard and screen-reader users meet an unnamed control.
    """
    options = [{k: o[k] for k in ("label", "value", "disabled") if k in o} for o in options]
    control = dbc.Select(id=control_id, options=options, value=value, placeholder=placeholder,
                         class_name="select")
    return field(label, control, control_id, help_text)


def legend(classes: Classes, title: str) -> html.Div:
    """The map legend as HTML: one swatch per class, then the grey suppressed/no-data classes."""
    items = [html.Li([html.Span(className="swatch", style={"backgroundColor": e.colour}, **{"aria-hidden": "true"}),
                      html.Span(e.label, className="legend-label"),
                      html.Span(f"{e.count:,} area{'' if e.count == 1 else 's'}", className="legend-count")],
                     className="legend-item" + (" legend-grey" if e.klass < 0 else ""))
             for e in classes.legend]
    scheme = {"quantile": "Quantile classes (equal numbers of areas)",
              "jenks": "Natural breaks (Jenks)", "diverging": "Difference, symmetric classes",
              "significance": "95% confidence interval against the comparator's value (Fingertips method)"
              }[classes.scheme]
    notes = [html.P(scheme, className="legend-note")]
    if classes.note:
        notes.append(html.P(classes.note, className="legend-note legend-why"))
    return html.Div([html.H2(title, className="legend-title"), html.Ul(items, className="legend-list"), *notes],
                    className="legend")


def sr_only(text: str, element_id: Any | None = None) -> html.P:
    """Text for screen readers only: the figure's text alternative."""
    kwargs = {"id": element_id} if element_id is not None else {}
    return html.P(text, className="visually-hidden", **kwargs)


def data_table(table_id: Any, columns: list[dict] | None = None, data: list[dict] | None = None, *,
               server_side: bool = False, page_size: int = TABLE_PAGE_SIZE, caption: str | None = None,
               labelled_by: str | None = None, label: str | None = None) -> html.Div:
    """A sortable table in the house style (an AG Grid, explorer.app.grid), named for screen readers
    by the element `labelled_by`, else `label`, else the shown `caption` (figure_block names one that
    has none after its figure). `columns` are [{"name", "id"}]; numeric columns are found from `data`
    and keep their numbers. `server_side`: the rows come a page at a time from a callback on the
    grid's `getRowsRequest` (answer with `grid.rows_response`); refill a client table by sending
    `rowData` and `columnDefs` (`grid_props(columns, rows)`)."""
    if server_side:
        return grid.server_grid(table_id, None, page_size=page_size, caption=caption, labelled_by=labelled_by,
                                label=label)
    rows = data or []
    return grid.client_grid(table_id, grid.column_defs(columns or [], rows), rows, page_size=page_size,
                            caption=caption, labelled_by=labelled_by, label=label)


def records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict]:
    """Rows for a table: visible columns only, numbers as numbers, NaN/NA as MISSING (empty text)."""
    cols = [c for c in (columns or frame.columns) if not str(c).startswith("_")]
    out = frame[cols].astype(object).where(frame[cols].notna(), MISSING)
    return out.to_dict("records")


def figure_block(graph: Any, summary: Any, table: Any, *, title: str, table_label: str = "Table",
                 note: str | None = SUPPRESSION_NOTE, download: Any | None = None) -> html.Section:
    """A figure with its text alternative and an equivalent table (in a <details>); `download` is the
    figure's PNG/SVG/PDF menu (explorer.app.exports.menu), whose file name the chart toolbar's PNG takes too."""
    filename = getattr(download, "data-filename", None) if download is not None else None
    if filename and isinstance(graph, dcc.Graph):
        graph.config = theme.graph_config(filename)
    grid.name_frame(table, f"Table: {title}")
    children = [html.H3(title, className="block-title"), *([download] if download is not None else []), graph,
                summary,
                html.Details([html.Summary(table_label), table], className="table-details", open=True)]
    if note:
        children.append(html.P(note, className="table-note"))
    return html.Section(children, className="figure-block")


def graph(graph_id: Any, figure: Any | None = None, *, synthetic: bool = False, height: int | None = None,
          filename: str | None = None) -> dcc.Graph:
    """A chart; with `synthetic` the figure itself says SYNTHETIC DATA (so its PNG download does too).
    Its config is the one GRAPH_CONFIG (no link to an outside service); `filename` names its toolbar PNG."""
    if synthetic and isinstance(figure, go.Figure):
        figure = theme.mark_synthetic(figure)
    return dcc.Graph(id=graph_id, figure=figure if figure is not None else {"data": [], "layout": {}},
                     config=theme.graph_config(filename), style={"height": f"{height}px"} if height else None,
                     className="graph")


def notice(text: str, kind: str = "info") -> html.Div:
    return html.Div(text, className=f"notice notice-{kind}", role="status")
