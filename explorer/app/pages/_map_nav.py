"""How the map's view moves between areas: a click drills down, the breadcrumb climbs, and the area
list ("Go to an area") drills into an area or, where a level has too many areas to list (England's
PCNs and LSOAs), narrows the map to one larger area (an ICS) at the same level."""

from __future__ import annotations

from explorer.app.state import MapView
from explorer.domain.geography import LEVELS, child_level
from explorer.services.app_data import AppData

PICKER_MAX = 300  # the area list holds at most this many areas (else the larger areas that fit)


def drill(view: MapView, code: str, levels: tuple[str, ...], data: AppData) -> MapView:
    """Click on an area: show its children one level down, or select it at the lowest level."""
    if code not in data.area_level:
        return view
    level = data.level_of(code)
    below = child_level(level)
    if below is not None and below in levels:
        return view.with_(level=below, area=code, selected=None)
    return view.with_(selected=code)


def pick(view: MapView, code: str, levels: tuple[str, ...], data: AppData) -> MapView:
    """The area list: an area of the mapped level drills into it (as a click); an area above it
    (offered when the level has too many areas to list, e.g. England's ICSs over its PCNs or LSOAs)
    narrows the map to that area at the same level."""
    if code not in data.area_level:
        return view
    level = data.level_of(code)
    if level in levels and LEVELS.index(level) < LEVELS.index(view.level):
        return view.with_(area=code, selected=None)
    return drill(view, code, levels, data)


def picker_options(data: AppData, view: MapView, levels: tuple[str, ...]) -> tuple[list[dict], bool, str]:
    """(options, disabled, help text) of the area list: the mapped areas, or when there are more than
    PICKER_MAX of them, the areas of the highest level between that fit (to narrow the map to one)."""
    codes = data.codes_within(view.level, view.area)
    help_text = ""
    if len(codes) > PICKER_MAX:
        top = LEVELS.index(data.level_of(view.area)) if view.area is not None else -1
        above = [lv for lv in levels if top < LEVELS.index(lv) < LEVELS.index(view.level)]
        fitting = [lv for lv in above if len(data.codes_within(lv, view.area)) <= PICKER_MAX]
        if not fitting:
            return [{"label": f"Too many areas ({len(codes):,}): drill down first", "value": ""}], True, help_text
        unit = data.level_label(fitting[0], short=True)
        codes = data.codes_within(fitting[0], view.area)
        help_text = (f"{len(codes):,} {unit}s listed (too many areas to list one by one): choose one to map "
                     f"its {data.level_label(view.level, short=True)}s.")
    options = sorted(({"label": data.name_of(c), "value": c} for c in codes), key=lambda o: o["label"])
    return options, False, help_text


def climb(view: MapView, code: str, levels: tuple[str, ...], data: AppData) -> MapView:
    """Breadcrumb: back up to `code` ("" = the region), showing its children."""
    if not code or code == data.region_code:
        return view.with_(level=levels[0], area=None, selected=None)
    if code not in data.area_level:
        return view
    below = child_level(data.level_of(code))
    return view.with_(level=below if below in levels else view.level, area=code, selected=None)


__all__ = ["PICKER_MAX", "climb", "drill", "pick", "picker_options"]
