"""The population filters' checkboxes (age band, sex, ethnic group, IMD quintile, frailty), built
once for every page that offers them (map, profile), and read back into `Filters`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dash import html

from explorer.app import components as ui
from explorer.app.state import FILTER_KEYS
from explorer.domain.metrics import VOCAB, FilterError, Filters
from explorer.vocab import ETHNIC_LABELS, FRAILTY_LABELS


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


def filters_from_values(values: Mapping[str, Sequence[str] | None], current: Filters) -> Filters:
    """Filters from the checklists' values (keeping `current`'s high-risk switch); `current` if invalid."""
    try:
        return Filters(age_band=tuple(values.get("age_band") or ()), sex=tuple(values.get("sex") or ()),
                       ethnic_group=tuple(values.get("ethnic_group") or ()),
                       imd_quintile=tuple(int(q) for q in values.get("imd_quintile") or ()),
                       frailty=tuple(values.get("frailty") or ()), risk=current.risk)
    except (FilterError, ValueError):
        return current


__all__ = ["FILTER_KEYS", "filter_values", "filters_from_values", "population_checklists"]
