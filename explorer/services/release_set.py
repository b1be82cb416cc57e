"""A released aggregate: the metric tables a role may see, disclosure-controlled, for an output checker.

What is released, and why not controlled cell tables. The app never shows a cell: it sums cells to
an area (and filter) and then controls that sum - rounds it, hides 1-7, suppresses a complement.
Rounding the LSOA x age x sex x ... cells and summing them is not rounding the sum (and a sum of
hidden cells is unknown), so an app started on controlled cells would show other numbers than the
app on raw cells for the same role. The release is therefore the tables that role sees, made by
the same code the app uses (:func:`explorer.services.app_data.engine_table` and
:func:`~explorer.services.app_data.control_level`, i.e. the engine with the role's policy then
:func:`explorer.domain.release.control` with secondary suppression among siblings): for every
care-plan metric the role may see, every level it may see (and the region), at the snapshot month
and default risk definition, unfiltered and for each single group of each filter dimension. One
Parquet file per metric, plus ``release_log.json`` and ``release_log.txt`` naming every file, its
rows and columns and the rules applied. :class:`ReleasedEngine` lets the app run on a release
alone: the map and tables show exactly the numbers the app on the raw cells shows that role
(tests/test_engines.py); views not in the release (other filters, trends, breakdowns, the cascade,
outreach) say so instead of computing anything.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.atomic import replace_directory
from explorer.bundle.store import Bundle
from explorer.domain import access
from explorer.domain.disclosure import DisclosurePolicy, assert_no_small_counts
from explorer.domain.metrics import DEFAULT_RISK, METRICS, VOCAB, Filters, risk_key
from explorer.domain.release import count_columns
from explorer.errors import ExplorerError
from explorer.services.app_data import REGION_LEVEL, control_level, engine_table
from explorer.vocab import PCN_APPORTIONED_NOTE

LOG_JSON = "release_log.json"
LOG_TEXT = "release_log.txt"
#: the filter dimensions released one group at a time (as tests/test_attack.py attacks them)
RELEASE_FILTERS = ("age_band", "sex", "ethnic_group", "imd_quintile", "frailty", "disabled")
NOT_RELEASED = ("{what} is not in this release: a release holds only the controlled metric tables "
                "(per level, unfiltered and per single filter group, at {snapshot}); use the full app in the "
                "secure environment for it")


def filter_label(filters: Filters) -> str:
    """``""`` for everyone, else ``key=value`` pairs joined by ``&`` (Filters' canonical query form)."""
    return "&".join(f"{k}={v}" for k, v in sorted(filters.to_query().items()))


def release_filters() -> list[Filters]:
    """Everyone, then each single group of each released filter dimension."""
    out = [Filters()]
    for dim in RELEASE_FILTERS:
        groups = (False, True) if dim == "disabled" else VOCAB[dim]
        out += [Filters(**{dim: (g,)}) for g in groups]
    return out


def release_policy(role: str) -> DisclosurePolicy:
    """The role's policy; refused for a role that sees unrounded figures (they never leave)."""
    policy = access.disclosure_policy_for(role)
    if not policy.enabled:
        raise ExplorerError(f"role '{role}' sees unrounded figures, which may not leave the secure environment: "
                            "release for commissioner, strategist or social_care")
    return policy


def _metric_frame(engine: Any, metric: str, levels: tuple[str, ...], policy: DisclosurePolicy) -> pd.DataFrame:
    info = METRICS[metric]
    risk = DEFAULT_RISK if info.needs_risk else None
    parts = []
    for level in levels:
        for flt in release_filters() if info.filterable else [Filters()]:
            table = control_level(engine_table(engine, level, metric, flt, risk, policy), info, level, policy)
            parts.append(table.assign(level=level, filter=filter_label(flt)))
    frame = pd.concat(parts, ignore_index=True)
    front = ["level", "filter", "area_code", "area_name", "parent_code"]
    frame = frame[front + [c for c in frame.columns if c not in front]]
    assert_no_small_counts(frame, [c for c in count_columns(info) if c in frame.columns], policy)
    return frame


def _rules(policy: DisclosurePolicy, levels: tuple[str, ...] = ()) -> list[str]:
    pcn = [f"{PCN_APPORTIONED_NOTE}: apportioned counts rounded to whole persons before these rules"
           ] if "pcn" in levels else []
    return [*pcn, f"counts of 1-{policy.threshold} people suppressed (shown as missing, flagged <metric>_suppressed)",
            f"every other count rounded to the nearest {policy.rounding_base}",
            ("rates, proportions and indices recomputed from the rounded counts; DSR, completeness and expected "
             "admissions computed from rounded inputs"),
            "secondary suppression among areas sharing a parent (the parent is released at the level above)",
            f"deprivation groups and IMD filters of whole areas at {policy.deprivation_level} level",
            "final check: no count column holds a value of 1-7 (assert_no_small_counts)"]


def write_release(bundle: Bundle, cells_dir: Path, out: Path, role: str) -> dict:
    """Write the release of ``role`` from stored cells in ``cells_dir`` to ``out`` (atomically); the log."""
    from explorer.services.engine import build_engine

    policy = release_policy(role)
    region = bundle.region
    engine = build_engine(bundle=bundle, records=Path(cells_dir) / "no-records",
                          snapshot=None, cells_dir=Path(cells_dir), eager_history=False)
    if not engine.has_records:
        raise ExplorerError(f"no care-plan cells in {cells_dir}: nothing to release")
    names = [n for n in engine.available_metrics() if METRICS[n].source != "geography"]
    metrics = access.visible_metrics(names, role)
    levels = (REGION_LEVEL, *access.policy_for(role).levels)
    cells_manifest = engine.cells.manifest

    def write(tmp: Path) -> dict:
        files = []
        for metric in metrics:
            frame = _metric_frame(engine, metric, levels, policy)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / f"{metric}.parquet")
            files.append({"file": f"{metric}.parquet", "metric": metric, "rows": len(frame),
                          "columns": list(frame.columns),
                          "suppressed": int(frame[f"{metric}_suppressed"].astype(bool).sum())})
        rules = _rules(policy, levels if engine.index.pcn_apportioned else ())
        log = {"release_of": region, "role": role, "policy": asdict(policy), "rules": rules,
               "data": "SYNTHETIC" if cells_manifest.get("synthetic", True) else "real",
               "snapshot": engine.snapshot.isoformat(), "risk": list(risk_key(DEFAULT_RISK)),
               "levels": list(levels), "filters": [filter_label(f) for f in release_filters()],
               "made": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "from_cells": {k: cells_manifest.get(k) for k in ("engine", "records_fingerprint", "created")},
               "files": files}
        (tmp / LOG_JSON).write_text(json.dumps(log, indent=2), encoding="utf-8")
        (tmp / LOG_TEXT).write_text(render_log(log), encoding="utf-8")
        return log

    return replace_directory(Path(out), write)


def render_log(log: dict) -> str:
    """The release log for an output checker to read."""
    lines = [f"RELEASE LOG - {log['data']} DATA" if log["data"] == "SYNTHETIC" else "RELEASE LOG",
             f"Region: {log['release_of']}   role: {log['role']}   snapshot: {log['snapshot']}   made: {log['made']}",
             f"Levels: {', '.join(log['levels'])}",
             f"Filters: everyone and one group at a time ({len(log['filters'])} views per level)",
             (f"Source: cell tables made by {log['from_cells']['engine']} from records "
              f"{str(log['from_cells']['records_fingerprint'])[:16]}..."), "", "Rules applied to every file:"]
    lines += [f"  - {rule}" for rule in log["rules"]]
    lines += ["", "Files:"]
    for f in log["files"]:
        lines.append(f"  {f['file']}: {f['rows']} rows, {f['suppressed']} suppressed; columns: {', '.join(f['columns'])}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False)
class ReleasedEngine:
    """What the app needs from an engine, served from a release (see the module docstring)."""

    directory: Path
    log: dict
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, directory: Path) -> ReleasedEngine:
        path = Path(directory) / LOG_JSON
        if not path.exists():
            raise ExplorerError(f"{directory} is not a release: no {LOG_JSON}")
        return cls(Path(directory), json.loads(path.read_text(encoding="utf-8")))

    @property
    def policy(self) -> DisclosurePolicy:
        return DisclosurePolicy(**self.log["policy"])

    has_records = True

    @property
    def has_risk_scores(self) -> bool:
        return any(METRICS[f["metric"]].needs_risk for f in self.log["files"])

    def available_metrics(self) -> list[str]:
        return [f["metric"] for f in self.log["files"]]

    def _table(self, metric: str) -> pd.DataFrame:
        if metric not in self._tables:
            self._tables[metric] = pq.read_table(self.directory / f"{metric}.parquet").to_pandas()
        return self._tables[metric]

    def _missing(self, what: str) -> ExplorerError:
        return ExplorerError(NOT_RELEASED.format(what=what, snapshot=self.log["snapshot"]))

    def released_table(self, level: str, metric: str, filters: Filters, risk: Any, policy: DisclosurePolicy
                       ) -> pd.DataFrame:
        """The released, controlled table of one level and filter (as the app's ``controlled``)."""
        if policy != self.policy:
            raise ExplorerError(f"this release was made for role '{self.log['role']}': its figures are "
                                "controlled for that role only")
        if metric not in self.available_metrics():
            raise self._missing(f"metric '{metric}'")
        if risk is not None and risk_key(risk) != risk_key(DEFAULT_RISK) or filters.risk is not None:
            raise self._missing("a risk definition other than the default")
        table = self._table(metric)
        rows = table[(table["level"] == level) & (table["filter"] == filter_label(filters))]
        if rows.empty:
            raise self._missing(f"level '{level}' with filter '{filter_label(filters) or 'none'}'")
        return rows.drop(columns=["level", "filter"]).reset_index(drop=True)

    def metric_table(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        raise self._missing("an uncontrolled metric table")

    def by_group(self, *args: Any, **kwargs: Any) -> Any:
        raise self._missing("a breakdown by group")

    def trend(self, *args: Any, **kwargs: Any) -> Any:
        raise self._missing("a trend")

    def cascade(self, *args: Any, **kwargs: Any) -> Any:
        raise self._missing("the care-plan cascade")

    def outreach(self, *args: Any, **kwargs: Any) -> Any:
        raise self._missing("the outreach table")
