"""Web boundaries: simplified as a coverage (neighbours keep shared edges), dissolved per level."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

WEB_CRS = 4326
PRECISION_DEGREES = 1e-5  # about 1.1 m north-south in England


def simplify_coverage(lsoas: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Topology-aware simplification in metres: shared edges are simplified once, so no slivers."""
    if lsoas.crs is None or lsoas.crs.to_epsg() != 27700:
        raise ValueError("simplify in British National Grid (EPSG:27700) so the tolerance is in metres")
    geoms = lsoas.geometry.values
    if not shapely.coverage_is_valid(geoms):  # e.g. a few mis-noded edges in the BSC release
        geoms = shapely.coverage_clean(geoms)
    simplified = shapely.coverage_simplify(geoms, tolerance_m)
    return lsoas.set_geometry(gpd.GeoSeries(simplified, index=lsoas.index, crs=lsoas.crs))


def dissolve_coverage(lsoas: gpd.GeoDataFrame, by: str) -> gpd.GeoDataFrame:
    """Union of a coverage's polygons per group (GEOS coverage union: fast, no slivers)."""
    groups = lsoas.groupby(by, sort=True).indices
    geoms = [shapely.coverage_union_all(lsoas.geometry.values[idx]) for idx in groups.values()]
    return gpd.GeoDataFrame({by: list(groups)}, geometry=geoms, crs=lsoas.crs)


def to_web(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """WGS84 on a 1e-5 degree grid (about 1 m); snap-rounding keeps every polygon valid and shared
    vertices round identically, so neighbours still meet."""
    web = frame.to_crs(WEB_CRS)
    rounded = shapely.set_precision(web.geometry.values, PRECISION_DEGREES, mode="valid_output")
    return web.set_geometry(gpd.GeoSeries(rounded, index=web.index, crs=WEB_CRS))


def geojson_bytes(frame: gpd.GeoDataFrame, id_column: str) -> int:
    """Size of the level's GeoJSON as the app sends it (ids only, no properties)."""
    return len(frame[[id_column, "geometry"]].set_index(id_column).to_json(drop_id=False, separators=(",", ":")))


def overlap_and_gap_area(polygons: gpd.GeoSeries) -> tuple[float, float]:
    """(overlapping area, area of holes inside the union) in the polygons' units, to check a coverage."""
    total = float(np.sum(shapely.area(polygons.values)))
    union = shapely.union_all(polygons.values)
    overlap = total - float(shapely.area(union))
    filled = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(union)))
    gaps = float(np.sum(shapely.area(filled))) - float(shapely.area(union))
    return max(overlap, 0.0), max(gaps, 0.0)


def centroids(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    points = frame.geometry.representative_point()
    return pd.DataFrame({"x": points.x.to_numpy(), "y": points.y.to_numpy()}, index=frame.index)
