"""The tables `explorer summary` and `explorer inequality` print, as a role may see them.

They read the bundle and records (through the metrics engine) and apply explorer.domain.release,
the disclosure control the app uses; the CLI parses arguments, calls these and prints.
"""

from __future__ import annotations

import pandas as pd

from explorer.config import load_settings
from explorer.errors import ExplorerError

DEFAULT_ROLE = "commissioner"


def summary_frame(level: str, region: str, metrics: list[str] | None = None, filters: list[str] | None = None,
                  as_of: str | None = None, role: str = DEFAULT_ROLE) -> pd.DataFrame:
    """The table `explorer summary` prints, as `role` may see it (AccessDenied if it may not).

    Without metrics: the bundle's area summary. With metrics: the same columns, then per metric
    <metric>, <metric>_numerator, <metric>_denominator, <metric>_lower, <metric>_upper. Controlled
    columns get a <column>_suppressed flag (explorer.domain.release, the code the app uses).
    ``coverage_registered`` (plans per 1,000 registered patients) is built from the released
    ``plans`` column (explorer.services.registered_coverage); it takes no --filter."""
    from explorer.bundle.store import load_bundle
    from explorer.domain import access, release
    from explorer.domain.geography import area_summary, with_crossing
    from explorer.services.pcn_info import optional_table

    access.check_level(role, level)  # refuse before reading anything
    release.check_metrics(role, metrics or [])
    settings = load_settings()
    if not metrics:
        if filters or as_of:
            raise ExplorerError("--filter and --as-of apply to care-plan metrics: add --metric NAME")
        bundle = load_bundle(settings, region)
        summary = with_crossing(area_summary(bundle.lsoas, bundle.areas, level, optional_table(bundle, "pcn_weights")),
                                level, optional_table(bundle, "pcns"))
        return release.control_area_summary(summary, level, [], role)
    from explorer.domain.coverage import summary_table
    from explorer.domain.metrics import Filters, check_metric
    from explorer.services import load_engine
    from explorer.services import registered_coverage as regcov

    registered = regcov.NAME in metrics
    if registered and filters:
        raise ExplorerError(f"{regcov.NAME} is unfiltered: the GP registration files have no age or sex")
    engine_metrics = [m for m in metrics if m != regcov.NAME]
    wanted = engine_metrics + ([regcov.NUMERATOR] if registered and regcov.NUMERATOR not in engine_metrics else [])
    for name in wanted:
        check_metric(name)
    parsed = Filters.parse(filters)
    engine = load_engine(settings, region, eager_history=False)  # one snapshot: no history
    table = summary_table(engine, level, wanted, parsed, as_of, policy=access.disclosure_policy_for(role))
    out = release.control_area_summary(table, level, wanted, role)
    if registered:  # from the released plan counts above: controlled by construction
        bundle = load_bundle(settings, region)
        cover = regcov.coverage_table(out, bundle, regcov.area_index(bundle, engine), level)
        out = out.merge(cover.drop(columns=["area_name", "parent_code"]), on="area_code", how="left")
        if regcov.NUMERATOR not in engine_metrics:  # asked for the rate only
            parts = [regcov.NUMERATOR, *(f"{regcov.NUMERATOR}_{p}" for p in release.METRIC_PARTS[1:])]
            out = out.drop(columns=[c for c in out.columns if c in parts or c.removesuffix("_suppressed") in parts])
    return out


def inequality_frames(level: str, metric: str, by: str, region: str, filters: list[str] | None = None,
                      as_of: str | None = None, role: str = DEFAULT_ROLE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables `explorer inequality` prints, as `role` may see them: (rows: area_code, group, value,
    numerator, denominator, lower, upper, suppressed; sii_rii: area_code, sii, sii_lower, sii_upper, rii,
    rii_lower, rii_upper). Controlled by explorer.domain.release, the code the app uses."""
    from explorer.domain import access, release
    from explorer.domain.metrics import Filters, check_metric
    from explorer.services import load_engine

    access.check_level(role, level)  # refuse before reading anything
    release.check_metrics(role, [metric])
    check_metric(metric)
    engine = load_engine(load_settings(), region, eager_history=False)
    raw = access.policy_for(role).role.value == "analyst"
    # with control on, the SII/RII are refitted to the controlled rows: skip the engine's simulations
    rows, sii_rii = engine.inequality(level, metric, by, Filters.parse(filters), as_of=as_of,
                                      n_simulations=10_000 if raw else 10,
                                      policy=access.disclosure_policy_for(role))
    return release.control_inequality(rows, sii_rii, level, metric, by, role)
