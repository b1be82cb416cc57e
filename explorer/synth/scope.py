"""Synthetic records for chosen ICSs only: an ICS deploying the tool for itself, or a test world.

`within_icss(bundle, codes)` is the bundle seen through those ICSs: its LSOAs and age-sex table cut
to the ICSs' LSOAs and its practices to those the GP map places in them (synthetic practices: those
whose site, the LSOA holding most of their patients, is in them). Everything else (areas,
boundaries, registrations) stays the whole region's, so the app still maps every area of the region
and shows the areas without records as "no data". The generators (explorer.synth.careplans) take it
as any bundle; the records manifest names the ICSs (`ics_scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import cached_property

import pandas as pd

from explorer.bundle.store import Bundle
from explorer.errors import ExplorerError


@dataclass(frozen=True)
class IcsScope(Bundle):
    """A bundle cut to some of its ICSs (see the module docstring)."""

    ics_codes: tuple[str, ...] = ()

    @cached_property
    def practices(self) -> pd.DataFrame:
        practices = Bundle.practices.func(self)
        if "icb_code" in practices:
            inside = practices["icb_code"].isin(self.ics_codes)
        else:
            shares = self.practice_shares.sort_values(["practice_code", "patients", "lsoa_code"],
                                                      ascending=[True, False, True]).drop_duplicates("practice_code")
            sites = shares.set_index("practice_code")["lsoa_code"]
            inside = practices["practice_code"].map(sites).isin(self.lsoas["lsoa_code"])
        in_region = practices.get("in_region", True)
        return practices.assign(in_region=inside & in_region)


def within_icss(bundle: Bundle, ics_codes: Sequence[str]) -> IcsScope:
    """The bundle cut to `ics_codes` (ICB codes such as E54000018); a clear error for a code the
    bundle does not hold."""
    codes = tuple(dict.fromkeys(ics_codes))
    known = set(bundle.lsoas["ics_code"])
    unknown = [c for c in codes if c not in known]
    if not codes or unknown:
        names = bundle.lsoas.drop_duplicates("ics_code").sort_values("ics_code")
        listing = ", ".join(f"{c} ({n})" for c, n in zip(names["ics_code"], names["ics_name"]))
        raise ExplorerError(f"unknown ICS code(s) {', '.join(unknown) or '(none given)'}: the {bundle.region} "
                            f"bundle's ICSs are {listing}")
    lsoas = bundle.lsoas[bundle.lsoas["ics_code"].isin(codes)].reset_index(drop=True)
    age_sex = bundle.age_sex[bundle.age_sex["lsoa_code"].isin(lsoas["lsoa_code"])].reset_index(drop=True)
    base = {f.name: getattr(bundle, f.name) for f in fields(Bundle)}
    return IcsScope(**{**base, "lsoas": lsoas, "age_sex": age_sex}, ics_codes=codes)


def scope_of(bundle: Bundle) -> list[str] | None:
    """The ICSs a bundle is cut to, for the records manifest (None: the whole region)."""
    return list(bundle.ics_codes) if isinstance(bundle, IcsScope) else None
