"""Loading a built bundle: read once at start-up, then shared read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from explorer.config import Settings
from explorer.errors import DataMissingError
from explorer.vocab import LEVELS
from explorer.vocab import REGIONS as REGION_CODES

if TYPE_CHECKING:  # geopandas is imported when boundaries are read: a query needs none
    import geopandas as gpd

TABLE_FILES = {
    "lsoa": "lsoa.parquet",
    "age_sex": "age_sex.parquet",
    "areas": "areas.parquet",
    "practices": "practices.parquet",
    "pcn_weights": "pcn_weights.parquet",  # lsoa_code, pcn_code, patients, weight (sum 1 per LSOA)
    "pcns": "pcns.parquet",  # one row per PCN: name, ICS, sub-ICB, place, crosses_place, drawn
    "practice_shares": "practice_shares.parquet",  # registered patients per LSOA and practice
    "neighbour_features": "neighbour_features.parquet",  # national place/PCN features (bundle.neighbours)
}
BOUNDARY_FILES = {level: f"boundaries_{level}.parquet" for level in LEVELS}


@dataclass(frozen=True)
class Bundle:
    """A region's processed geography, deprivation and population tables."""

    directory: Path
    manifest: dict
    lsoas: pd.DataFrame
    age_sex: pd.DataFrame
    areas: pd.DataFrame

    @property
    def region(self) -> str:
        return self.manifest["region"]

    @property
    def region_code(self) -> str:
        return REGION_CODES[self.region][0]

    @property
    def region_name(self) -> str:
        return REGION_CODES[self.region][1]

    def boundaries(self, level: str) -> gpd.GeoDataFrame:
        import geopandas as gpd

        return gpd.read_parquet(self.directory / BOUNDARY_FILES[level])

    @cached_property
    def practices(self) -> pd.DataFrame:
        return pd.read_parquet(self.directory / TABLE_FILES["practices"])

    @cached_property
    def practice_shares(self) -> pd.DataFrame:
        return pd.read_parquet(self.directory / TABLE_FILES["practice_shares"])

    @cached_property
    def pcn_weights(self) -> pd.DataFrame:
        """Each LSOA's registered patients by PCN, with weights summing to 1 per LSOA."""
        return pd.read_parquet(self.directory / TABLE_FILES["pcn_weights"])

    @cached_property
    def pcns(self) -> pd.DataFrame:
        return pd.read_parquet(self.directory / TABLE_FILES["pcns"])

    @cached_property
    def neighbour_features(self) -> pd.DataFrame:
        """Every English place and PCN by deprivation, age, ethnicity and rurality (bundle.neighbours)."""
        path = self.directory / TABLE_FILES["neighbour_features"]
        if not path.exists():
            raise DataMissingError(f"This bundle has no {path.name} (built before nearest neighbours existed): "
                                   "rebuild it with `explorer data build`, or run "
                                   "`explorer data neighbours` to add the table.")
        return pd.read_parquet(path)


def load_bundle(settings: Settings, region: str) -> Bundle:
    directory = settings.bundle_dir(region)
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise DataMissingError(
            f"The {region} bundle has not been built ({directory} is missing).\n"
            f"Run `explorer data build --region {region}` (it needs the public data: `explorer data fetch`, "
            "or EXPLORER_MIRROR=../shared/data/public on these machines)."
        )
    return Bundle(
        directory=directory,
        manifest=json.loads(manifest_path.read_text()),
        lsoas=pd.read_parquet(directory / TABLE_FILES["lsoa"]),
        age_sex=pd.read_parquet(directory / TABLE_FILES["age_sex"]),
        areas=pd.read_parquet(directory / TABLE_FILES["areas"]),
    )
