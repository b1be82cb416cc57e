"""Nearest neighbours: the areas of a level most like a given one, by a documented distance.

The idea is CIPFA's nearest-neighbour model, as Fingertips offers it: describe every area of a
level in England by a few features, put them on one scale, and call the closest areas "similar".

- **Standardised**: each feature becomes a z-score across *all* areas of the level in England,
  (value - mean) / standard deviation, so a percentage point of "% aged 65+" and a point of IMD
  score count by how unusual they are, not by their units.
- **Weighted Euclidean distance**: d(a, b) = sqrt(sum_j w_j (z_aj - z_bj)^2).
- **Weights**: each of the four themes (deprivation, age structure, ethnicity, rurality) has a total
  weight of 1, shared equally among its features (deprivation 2 x 1/2, age 6 x 1/6, ethnicity
  5 x 1/5, rurality 1 x 1). Without this the six age bands would outweigh rurality six to one just
  because the Census splits age finer; with it each theme counts the same, which is the plain
  reading of "similar by deprivation, age, ethnicity and rurality".
- Ties are broken by area code, so the same table always gives the same neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from explorer.errors import ExplorerError
from explorer.vocab import NEIGHBOUR_FEATURES

DEFAULT_K = 15
THEMES: tuple[str, ...] = tuple(dict.fromkeys(theme for _, theme in NEIGHBOUR_FEATURES.values()))


def theme_weights(features: Mapping[str, tuple[str, str]] = NEIGHBOUR_FEATURES) -> dict[str, float]:
    """Feature -> weight: each theme weighs 1 in all, split equally among its features."""
    sizes = pd.Series([theme for _, theme in features.values()]).value_counts()
    return {name: 1.0 / float(sizes[theme]) for name, (_, theme) in features.items()}


WEIGHTS: Mapping[str, float] = theme_weights()


def standardise(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """z-scores of `columns` across the rows (population standard deviation; a constant feature -> 0)."""
    values = table[list(columns)].astype(float)
    spread = values.std(ddof=0).replace(0.0, np.nan)
    return ((values - values.mean()) / spread).fillna(0.0)


def nearest(table: pd.DataFrame, code: str, k: int = DEFAULT_K,
            weights: Mapping[str, float] = WEIGHTS) -> pd.DataFrame:
    """The `k` areas nearest to `code` among `table`'s rows (one level; area_code plus the features
    named in `weights`): area_code, distance, rank (1 = most similar), most similar first.

    Raises ExplorerError if `code` is not in the table or a feature is missing."""
    columns = tuple(weights)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ExplorerError(f"the neighbour table lacks the features {', '.join(missing)}")
    codes = table["area_code"].astype(str).to_numpy()
    where = np.flatnonzero(codes == code)
    if not len(where):
        raise ExplorerError(f"area {code!r} is not in the neighbour table of its level")
    z = standardise(table, columns).to_numpy()
    w = np.array([weights[c] for c in columns], dtype=float)
    distance = np.sqrt(((z - z[where[0]]) ** 2 * w).sum(axis=1))
    out = pd.DataFrame({"area_code": codes, "distance": distance})
    out = out[out["area_code"] != code].sort_values(["distance", "area_code"], kind="stable").head(k)
    return out.assign(rank=np.arange(1, len(out) + 1)).reset_index(drop=True)


def explanation(weights: Mapping[str, float] = WEIGHTS) -> pd.DataFrame:
    """The features, their themes, labels and weights: what the distance is made of, for the screen."""
    return pd.DataFrame([{"feature": name, "label": NEIGHBOUR_FEATURES[name][0], "theme": NEIGHBOUR_FEATURES[name][1],
                          "weight": weight} for name, weight in weights.items()])
