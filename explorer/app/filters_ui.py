"""Controls shared by pages: the population filters' checkboxes (age band, sex, ethnic group, IMD
quintile, frailty; map and profile), read back into `Filters`, and the area picker of the pages
that work within one area (inequalities, outreach)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dash import html

from explorer.app import components as ui
from explorer.app.state import FILTER_KEYS
from explorer.domain.metrics import VOCAB, FilterError, Filters
from explorer.vocab import ETHNIC_LABELS, FRAILTY_LABELS, LEVEL_CONTROL_LABELS


def filter_values(filters: Filters) -> dict[str, list[str]]:
    """Each filter's ticked values as the checklists hold them (text)."""
    return {"age_band": list(filters.age_band), "sex": list(filters.sex),
            "ethnic_group": list(filters.ethnic_group), "imd_quintile": [str(q) for q in filters.imd_quintile],
            "frailty": list(filters.frailty)}


def population_checklists(id_of: Callable[[str], Any], values: Mapping[str, Sequence[str]],
                          groups_note: str = "") -> list[html.Fieldset]:
    """One checklist per population filter (none ticked: everyone)."""
    return [
        ui.checklist(id_of("age_band"), [(b, b) for b in VOCAB["age_band"]], values["age_band"],
                     "Age band (none ticked: all ages)"),
        ui.checklist(id_of("sex"), [("Female", "female"), ("Male", "male")], values["sex"], "Sex"),
        ui.checklist(id_of("ethnic_group"), [(ETHNIC_LABELS.get(g, g), g) for g in VOCAB["ethnic_group"]],
                     values["ethnic_group"], "Ethnic group (Census 2021; none ticked: all)", inline=False),
        ui.checklist(id_of("imd_quintile"), [(f"{q}", str(q)) for q in range(1, 6)], values["imd_quintile"],
                     "IMD quintile (1 = most deprived 20% in England)" + groups_note),
        ui.checklist(id_of("frailty"), [(FRAILTY_LABELS.get(f, f), f) for f in VOCAB["frailty"]], values["frailty"],
                     "Frailty (electronic frailty index, 65+; none ticked: any)", inline=False),
    ]


def area_options(data: Any, levels: Sequence[str] = ("ics", "place", "pcn")) -> list[dict]:
    """The region ("" value) then its areas at `levels`, ICSs first, each labelled with its level."""
    areas = data.bundle.areas
    rows = areas[areas["level"].isin(tuple(levels))]
    rows = rows.assign(_o=rows["level"].map({lv: i for i, lv in enumerate(levels)})).sort_values(["_o", "area_name"])
    return [{"label": f"{data.region_name} (whole region)", "value": ""},
            *({"label": f"{name} ({LEVEL_CONTROL_LABELS.get(lv, lv)})", "value": code}
              for code, name, lv in zip(rows["area_code"], rows["area_name"], rows["level"], strict=True))]


def filters_from_values(values: Mapping[str, Sequence[str] | None], current: Filters) -> Filters:
    """Filters from the checklists' values (keeping `current`'s high-risk switch); `current` if invalid."""
    try:
        return Filters(age_band=tuple(values.get("age_band") or ()), sex=tuple(values.get("sex") or ()),
                       ethnic_group=tuple(values.get("ethnic_group") or ()),
                       imd_quintile=tuple(int(q) for q in values.get("imd_quintile") or ()),
                       frailty=tuple(values.get("frailty") or ()), risk=current.risk)
    except (FilterError, ValueError):
        return current


__all__ = ["FILTER_KEYS", "area_options", "filter_values", "filters_from_values", "population_checklists"]
