"""Boundaries of a level as the browser receives them once (GeoJSON with area codes as ids)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from explorer.bundle.store import Bundle


@dataclass(frozen=True, eq=False)
class LevelGeometry:
    """A level's boundaries as the browser receives them once (GeoJSON with area codes as ids)."""

    level: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    position: Mapping[str, int]
    bounds: np.ndarray  # (n, 4): min lon, min lat, max lon, max lat
    geojson: dict

    def payload(self) -> dict:
        return {"level": self.level, "codes": list(self.codes), "names": list(self.names), "geojson": self.geojson}

    def subset_bounds(self, positions: Sequence[int] | None) -> list[float]:
        b = self.bounds if positions is None else self.bounds[np.asarray(positions, dtype=int)]
        if len(b) == 0:
            return []
        return [round(float(b[:, 0].min()), 4), round(float(b[:, 1].min()), 4),
                round(float(b[:, 2].max()), 4), round(float(b[:, 3].max()), 4)]


def level_geometry(bundle: Bundle, level: str, names: Mapping[str, str]) -> LevelGeometry:
    gdf = bundle.boundaries(level).sort_values(f"{level}_code", ignore_index=True)
    codes = tuple(gdf[f"{level}_code"].astype(str))
    geoms = gdf.geometry.values
    features = [{"type": "Feature", "id": code, "geometry": json.loads(shapely.to_geojson(g))}
                for code, g in zip(codes, geoms)]
    return LevelGeometry(level, codes, tuple(names.get(c, c) for c in codes),
                         {c: i for i, c in enumerate(codes)}, np.asarray(shapely.bounds(geoms)),
                         {"type": "FeatureCollection", "features": features})
