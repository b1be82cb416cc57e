"""Care-plan coverage per registered population (``coverage_registered``) for the app and the CLI.

The engine's ``coverage`` counts plans among the records' people: in the demo these are the
synthetic cohort, drawn to Census 2021 residents, so it is coverage *per resident population*.
This metric divides the same plans by NHS Digital's registered patients (GP lists, July 2023)
living in the area's LSOAs: *per registered population*. Its numerator is a plain engine call,
the ``plans`` count at the area's level, as released for the caller's policy (the app's
``AppData.controlled`` or the CLI's ``release.control_area_summary``); the denominator is the
bundle's registrations summed over the same LSOAs the engine counts (PCNs: apportioned by the
registration weights, as the engine's PCN plan counts are). The rate and CI: :func:`explorer.domain.gaps.coverage_per_registered`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from explorer.bundle.store import Bundle
from explorer.domain import gaps
from explorer.domain.metrics import AreaIndex, MetricInfo
from explorer.errors import ExplorerError

NAME = gaps.REGISTERED_COVERAGE
NUMERATOR = "plans"  # the engine metric the numerator is
INFO = MetricInfo(
    NAME, "Care-plan coverage of registered patients", "per 1,000 registered patients", "rate", gaps.PER, True,
    "People with a live care plan per 1,000 patients registered with a GP (NHS Digital, July 2023) who live "
    "in the area. Numerator: the released plan count (the same as 'People with a live care plan'); "
    "denominator: registered patients, public and exact. Unfiltered only: the registration files have no "
    "age or sex. 95% CI: Byar.", "registered patients (GP lists, July 2023)", filterable=False)


def available(bundle: Bundle, engine_metrics: set[str]) -> bool:
    """Whether the metric can be served: the engine serves plans and the bundle has registrations."""
    if NUMERATOR not in engine_metrics:
        return False
    try:
        shares = bundle.practice_shares
    except (FileNotFoundError, AttributeError):  # a bundle without GP registrations (hand-made, or old)
        return False
    return shares is not None and not shares.empty


def area_index(bundle: Bundle, engine: Any) -> AreaIndex:
    """The engine's LSOA -> area index (so the denominator covers the numerator's LSOAs)."""
    index = getattr(engine, "index", None)
    if isinstance(index, AreaIndex):
        return index
    return AreaIndex(bundle.lsoas, bundle.areas, bundle.region_code, bundle.region_name)


def registered_by_area(bundle: Bundle, index: AreaIndex, level: str) -> pd.DataFrame:
    """area_code, registered: GP-registered patients living in each area's LSOAs (exact sums)."""
    shares = getattr(bundle, "practice_shares", None)
    if shares is None or shares.empty:
        raise ExplorerError("the bundle has no GP registrations: rebuild it with `explorer data build`")
    per_lsoa = gaps.lsoa_registrations(bundle.lsoas, shares)
    return gaps.registration_by_area(per_lsoa, index, level)[["area_code", gaps.REGISTERED]]


def coverage_table(plans: pd.DataFrame, bundle: Bundle, index: AreaIndex, level: str) -> pd.DataFrame:
    """The metric table from the *released* plans table of one level (columns plans, plans_suppressed)."""
    return gaps.coverage_per_registered(plans, registered_by_area(bundle, index, level))
