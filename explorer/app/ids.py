"""Every component ID, defined once. Pattern-matching IDs come from the small factories below."""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------- shell (every page)
BANNER = "data-banner"
USER_BADGE = "user-badge"
MAP_THEME = "map-theme"  # dcc.Store: the map's colours, labels and fonts from figures.theme (sent once)
SKIP_TARGET = "main-content"

GEOMETRY_TYPE = "geometry-store"
CRUMB_TYPE = "crumb"
MAP_CONTROL_TYPE = "map-control"


def geometry_store(level: str) -> dict[str, str]:
    """One dcc.Store per level (memory storage): boundaries fetched once (explorer.app.geometry), then
    kept by the browser."""
    return {"type": GEOMETRY_TYPE, "level": level}


def crumb(code: str) -> dict[str, str]:
    """A breadcrumb button that goes back up to `code` ("" = the region)."""
    return {"type": CRUMB_TYPE, "code": code}


def map_control(name: str) -> dict[str, str]:
    """A control of the map page's view (level, metric, filters, ...): read as a group by the hub."""
    return {"type": MAP_CONTROL_TYPE, "name": name}


# ---------------------------------------------------------------- map page
MAP_URL = "map-url"  # the page's own dcc.Location (refresh=False): writes the view into the query
MAP_VIEW = "map-view"  # dcc.Store: the canonical view (MapView.to_store())
MAP_VALUES = "map-values"  # dcc.Store: compact arrays for the clientside figure
MAP_NAV_KEY = "map-nav-key"  # dcc.Store: level|area the breadcrumb and area list were drawn for
MAP_GRAPH = "map-graph"
MAP_LEGEND = "map-legend"
MAP_SUMMARY = "map-summary"  # visually hidden sentence: the map's text alternative
MAP_HOVER = "map-hover-panel"
MAP_SELECTION = "map-selection"
MAP_BREADCRUMB = "map-breadcrumb"
MAP_TABLE = "map-table"
MAP_TABLE_CAPTION = "map-table-caption"
MAP_AREA_PICKER = "map-area-picker"
MAP_NOTICE = "map-notice"
MAP_TITLE = "map-title"

# ---------------------------------------------------------------- profile page
PROFILE_URL = "profile-url"
PROFILE_VIEW = "profile-view"
PROFILE_GROUPS = "profile-groups"
PROFILE_FILTER_NOTE = "profile-filter-note"
PROFILE_AREA = "profile-area"
PROFILE_AREA_SEARCH = "profile-area-search"
PROFILE_METRIC = "profile-metric"
PROFILE_TITLE = "profile-title"
PROFILE_KEY_TABLE = "profile-key-table"
PROFILE_GRADIENT = "profile-gradient"
PROFILE_GRADIENT_TABLE = "profile-gradient-table"
PROFILE_GRADIENT_SUMMARY = "profile-gradient-summary"
PROFILE_POPULATION = "profile-population"
PROFILE_TREND = "profile-trend"
PROFILE_CASCADE = "profile-cascade"

# ---------------------------------------------------------------- inequalities page
INEQ_URL = "ineq-url"
INEQ_VIEW = "ineq-view"
INEQ_NOTE = "ineq-note"
INEQ_METRIC = "ineq-metric"
INEQ_LEVEL = "ineq-level"
INEQ_GROUPS = "ineq-groups"
INEQ_FUNNEL = "ineq-funnel"
INEQ_FUNNEL_TABLE = "ineq-funnel-table"
INEQ_FUNNEL_SUMMARY = "ineq-funnel-summary"

# ---------------------------------------------------------------- outreach page
OUT_URL = "outreach-url"
OUT_VIEW = "outreach-view"
OUT_LEVEL = "outreach-level"
OUT_RISK = "outreach-risk"
OUT_CAPACITY = "outreach-capacity"
OUT_RANK_BY = "outreach-rank-by"
OUT_SUMMARY = "outreach-summary"
OUT_FIGURE = "outreach-figure"
OUT_TABLE = "outreach-table"
OUT_DOWNLOAD_BUTTON = "outreach-download-button"
OUT_DOWNLOAD = "outreach-download"
OUT_AREA = "outreach-area"
OUT_WHATIF_RANK = "outreach-whatif-rank"
OUT_WHATIF = "outreach-whatif"

# ---------------------------------------------------------------- SPC page (measuring improvement)
SPC_URL = "spc-url"
SPC_VIEW = "spc-view"
SPC_TITLE = "spc-title"
SPC_NOTE = "spc-note"
SPC_AREA = "spc-area"
SPC_AREA_SEARCH = "spc-area-search"
SPC_METRIC = "spc-metric"
SPC_TARGET = "spc-target"
SPC_BASELINE = "spc-baseline"
SPC_REBASE = "spc-rebase"
SPC_ICONS = "spc-icons"
SPC_CHART = "spc-chart"
SPC_TABLE = "spc-table"
SPC_SUMMARY = "spc-summary-of-change"
SPC_DOWNLOAD_BUTTON = "spc-download-button"
SPC_DOWNLOAD = "spc-download"


def page_query_store(page: str) -> str:
    return f"{page}-query"


def all_static_ids() -> list[Any]:
    """Every plain-string ID here (tests check they are unique)."""
    return [v for k, v in globals().items() if k.isupper() and isinstance(v, str) and not k.endswith("_TYPE")]


# Board pack on the profile page (explorer.app.board_pack): {"type": PROFILE_PACK_BUTTON, "fmt": format}
PROFILE_PACK_BUTTON = "profile-pack"
PROFILE_PACK_STATUS = "profile-pack-status"
PROFILE_PACK_DOWNLOAD = "profile-pack-download"

# Figure downloads (explorer.app.exports): pattern-matched {"type": ..., "index": figure, "fmt": format}
EXPORT_BUTTON = "figure-export"
EXPORT_REQUEST = "figure-export-request"  # dcc.Store: what the figure shows (kind, level, area, metric, ...)
EXPORT_DOWNLOAD = "figure-export-download"

# Search, population pyramid and nearest neighbours (explorer.app.pages.search / pyramid / neighbours)
SEARCH_INPUT = "search-input"
SEARCH_RESULTS = "search-results"
SEARCH_STATUS = "search-status"
PROFILE_PRACTICE = "profile-practice"
PYRAMID_URL = "pyramid-url"
PYRAMID_SEARCH = "pyramid-area-search"
PYRAMID_AREA = "pyramid-area"
PYRAMID_CONTENT = "pyramid-content"
PYRAMID_GRAPH = "pyramid-graph"
PYRAMID_TABLE = "pyramid-table"
NEIGHBOURS_URL = "neighbours-url"
NEIGHBOURS_AREA = "neighbours-area"
NEIGHBOURS_CONTENT = "neighbours-content"
NEIGHBOURS_GRAPH = "neighbours-graph"
NEIGHBOURS_TABLE = "neighbours-table"
NEIGHBOURS_WEIGHTS_TABLE = "neighbours-weights-table"
# Map page layout and readability (issue 14, points 5-8)
MAP_FILTERS_PANEL = "map-filters-panel"  # <details>: the map's filters, closed on small screens (assets/explorer.js)
# Spine chart, overview ("tartan rug") and compare-areas pages (explorer.app.pages.spine, overview, compare)
SPINE_URL = "spine-url"
SPINE_AREA = "spine-area"
SPINE_COMPARATOR = "spine-comparator"
SPINE_GRAPH = "spine-graph"
SPINE_TABLE = "spine-table"
RUG_URL = "rug-url"
RUG_LEVEL = "rug-level"
RUG_AREA = "rug-area"
RUG_GRID = "rug-grid"
RUG_TABLE = "rug-table"
CMP_URL = "compare-url"
CMP_LEVEL = "compare-level"
CMP_AREA = "compare-area"
CMP_METRIC = "compare-metric"
CMP_GRAPH = "compare-graph"
CMP_TABLE = "compare-table"
CMP_FUNNEL = "compare-funnel"  # the comparator group as a funnel plot (nearest neighbours)
CMP_FUNNEL_TABLE = "compare-funnel-table"
# ---------------------------------------------------------------- data gaps page (issue 17, point 4)
GAPS_URL = "gaps-url"
GAPS_AREA = "gaps-area"
GAPS_LEVEL = "gaps-level"
GAPS_MEASURE = "gaps-measure"
GAPS_AREAS = "gaps-areas"
GAPS_QUINTILES = "gaps-quintiles"
GAPS_DOWNLOAD_BUTTON = "gaps-download-button"
GAPS_DOWNLOAD = "gaps-download"

# ---------------------------------------------------------------- clinician activity page (issue 17, point 5)
ACT_URL = "activity-url"
ACT_AREA = "activity-area"
ACT_LEVEL = "activity-level"
ACT_MONTH = "activity-month"
ACT_ORG = "activity-org"
ACT_RATE = "activity-rate"
ACT_TARGET = "activity-target"
ACT_ICONS = "activity-icons"
ACT_CHART = "activity-chart"
ACT_ORGS = "activity-orgs"
ACT_AREAS = "activity-areas"
ACT_DOWNLOAD_BUTTON = "activity-download-button"
ACT_DOWNLOAD = "activity-download"
# The map's server-side grid (explorer.app.grid): a store the view change writes so the browser
# empties the grid's block cache and asks again (assets/explorer.js refreshGrid)
MAP_TABLE_REFRESH = "map-table-refresh"
# Shared area and population across pages (issue 14): the shell's URL watcher and its nav links,
# {"type": NAV_LINK_TYPE, "path": page path}; the profile's population filters and gap table.
NAV_URL = "nav-url"
NAV_LINK_TYPE = "nav-link"
PROFILE_FILTERS = "profile-filters"  # {"type": PROFILE_FILTERS, "key": filter key}: one checklist each
PROFILE_GAP = "profile-gap"
PROFILE_GAP_TABLE = "profile-gap-table"
INEQ_AREA = "ineq-area"
OUT_TABLE_CAPTION = "outreach-table-caption"


def nav_link(path: str) -> dict:
    return {"type": NAV_LINK_TYPE, "path": path}


# ---------------------------------------------------------------- England at full depth (issue 15)
MAP_PICKER_HELP = "map-picker-help"  # says when the area list offers larger areas to narrow the map to
# Honest PCNs (issue 15, point 2): the map table's note on how PCN figures are made.
MAP_TABLE_PCN_NOTE = "map-table-pcn-note"
