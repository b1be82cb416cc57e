"""Boundaries of a level as the browser receives them once (GeoJSON with area codes as ids).

A level keeps its shapes as a GEOS array (compact: England's 33,755 LSOAs take tens of MB, where
the same boundaries as Python GeoJSON dicts take several hundred); the GeoJSON dict is built only if
asked for (`geojson`), and the browser's payload is written straight to JSON bytes by
:func:`payload_json`, feature by feature, never as one big dict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

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
    shapes: np.ndarray  # shapely geometries in `codes` order
    labels: dict | None = None  # LABELLED_LEVELS only: where each area's name is written (label_points)

    @cached_property
    def geojson(self) -> dict:
        """The level as a GeoJSON FeatureCollection dict (feature ids = area codes), built on demand."""
        return {"type": "FeatureCollection",
                "features": [{"type": "Feature", "id": code, "geometry": json.loads(text)}
                             for code, text in zip(self.codes, shapely.to_geojson(self.shapes))]}

    def payload(self) -> dict:
        """What the browser keeps for the level: sent once, so the name labels travel with it too."""
        return {"level": self.level, "codes": list(self.codes), "names": list(self.names), "geojson": self.geojson,
                "labels": self.labels}

    def subset_bounds(self, positions: Sequence[int] | None) -> list[float]:
        b = self.bounds if positions is None else self.bounds[np.asarray(positions, dtype=int)]
        if len(b) == 0:
            return []
        return [round(float(b[:, 0].min()), 4), round(float(b[:, 1].min()), 4),
                round(float(b[:, 2].max()), 4), round(float(b[:, 3].max()), 4)]


def level_geometry(bundle: Bundle, level: str, names: Mapping[str, str]) -> LevelGeometry:
    gdf = bundle.boundaries(level).sort_values(f"{level}_code", ignore_index=True)
    codes = tuple(gdf[f"{level}_code"].astype(str))
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    return LevelGeometry(level, codes, tuple(names.get(c, c) for c in codes),
                         {c: i for i, c in enumerate(codes)}, np.asarray(shapely.bounds(geoms)), geoms,
                         label_points(geoms) if level in LABELLED_LEVELS else None)


def payload_json(geometry: LevelGeometry, names: Sequence[str]) -> bytes:
    """The browser's payload of a level ({level, codes, names, labels, geojson}, as `payload()` with
    `names` in place of the level's own) as UTF-8 JSON, written feature by feature from GEOS's own
    GeoJSON writer: England's LSOA layer in about a second, without a dict per coordinate."""
    head = json.dumps({"level": geometry.level, "codes": list(geometry.codes), "names": list(names),
                       "labels": geometry.labels}, separators=(",", ":"))
    features = ",".join(f'{{"type":"Feature","id":{json.dumps(code)},"geometry":{text}}}'
                        for code, text in zip(geometry.codes, shapely.to_geojson(geometry.shapes)))
    return (head[:-1] + ',"geojson":{"type":"FeatureCollection","features":[' + features + "]}}").encode()


LABELLED_LEVELS = ("ics", "place")  # levels whose area names are written on the map (few, large areas)


def label_points(geoms: Sequence) -> dict:
    """Where to write each area's name: the pole of inaccessibility of its largest part (always inside
    it, away from its edges, unlike a centroid), and the order to place labels in, largest area
    first, so that when two would overlap the bigger area keeps its name (assets/explorer.js)."""
    from shapely.ops import polylabel

    points = []
    for g in geoms:
        part = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
        tolerance = max(part.bounds[2] - part.bounds[0], part.bounds[3] - part.bounds[1]) / 200
        p = polylabel(part, tolerance=tolerance)
        points.append([round(p.x, 4), round(p.y, 4)])
    order = np.argsort(-shapely.area(np.asarray(geoms)), kind="stable")
    return {"points": points, "order": [int(i) for i in order]}


PRINT_PX = 1500  # simplification tolerance = extent / this: about one device pixel of a 2x print


def print_features(geometry: LevelGeometry, codes: Sequence[str]) -> list[dict]:
    """The features of `codes` simplified for print: shared edges kept (shapely.coverage_simplify, no
    slivers between neighbours), tolerance and coordinate precision scaled to the extent drawn, so a
    London LSOA map sends about a third fewer coordinates to the renderer and an area's close-up keeps
    its detail. An area whose simplified shape would be empty keeps its original one (one path per area)."""
    if not codes:
        return []
    shapes = geometry.shapes[[geometry.position[c] for c in codes]]
    bounds = shapely.total_bounds(shapes)
    tolerance = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / PRINT_PX
    grid = 10.0 ** np.floor(np.log10(max(tolerance / 2, 1e-7)))
    simple = shapely.set_precision(shapely.coverage_simplify(shapes, tolerance), grid, mode="pointwise")
    keep = shapely.is_empty(simple)
    simple = np.where(keep, shapes, simple)
    return [{"type": "Feature", "id": code, "geometry": _array_rings(json.loads(shapely.to_geojson(g)))}
            for code, g in zip(codes, simple)]


def _array_rings(geometry: dict) -> dict:
    """GeoJSON with each ring as a NumPy array: plotly deep-copies a figure's data when it is built,
    which for 150,000 coordinate pairs held as Python lists takes seconds; arrays copy at once, and
    plotly's JSON encoder writes them as the same lists."""
    coords = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        geometry["coordinates"] = [np.asarray(ring, dtype=float) for ring in coords]
    elif geometry["type"] == "MultiPolygon":
        geometry["coordinates"] = [[np.asarray(ring, dtype=float) for ring in polygon] for polygon in coords]
    return geometry
