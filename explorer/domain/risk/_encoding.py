"""Feature encoding of the risk model: a people frame to the float32 design matrix.

Age as bands or a cubic B-spline, sex, IMD decile (linear), ethnic group, long-term conditions
(capped), frailty (eFI) and prior emergency admissions; the reference levels are in
:func:`encoding_spec`. The bands encoding is the same, column for column, as the synthetic
generator's design matrix, so fitted odds ratios can be checked against the truth. Also here: the
seeded split of people into training and validation, and the join of each person's LSOA deprivation.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin

from explorer.domain.risk._errors import RiskModelError
from explorer.vocab import AGE_BANDS, ETHNIC_CODES, ETHNIC_GROUPS, FRAILTY, SEXES

OUTCOME = "admitted_next_12m"
DEFAULT_SEED = 20261122
DEFAULT_VALIDATION_SHARE = 0.3
MODEL_COLUMNS = ("age", "sex", "ethnic_group", "ltc_count", "frailty", "admissions_prev_12m", "imd_decile")
AGE_ENCODINGS = ("bands", "spline")
REFERENCE_AGE_BAND = "45-64"
AGE_BAND_STARTS = np.array([int(b.rstrip("+").split("-")[0]) for b in AGE_BANDS])
LTC_CAP = 10  # conditions beyond 10 add nothing (few people; the generator's truth uses the same cap)
PRIOR_CATEGORIES = ("1", "2", "3+")  # reference 0
FRAILTY_LEVELS = ("mild", "moderate", "severe")  # reference: fit or not_assessed
ETHNIC_LEVELS = tuple(g for g in ETHNIC_GROUPS if g != "white")  # reference White
SPLINE_DEGREE = 3
SPLINE_INNER_KNOTS = (16, 30, 45, 65, 75, 85)
SPLINE_RANGE = (0, 105)  # ages above 105 are treated as 105
SPLINE_REFERENCE_AGE = 55  # age curves are shown as odds ratios against this age
CHUNK_ROWS = 1_000_000
ENCODING_NAME = "explorer.domain.risk.encode"
ENCODING_VERSION = 1

LABELS = {
    **{f"age_{b}": f"Age {b} (vs 45-64)" for b in AGE_BANDS},
    "male": "Male (vs female)",
    "imd_decile": "Per IMD decile less deprived",
    **{f"ethnic_{g}": f"{g.capitalize()} (vs White)" for g in ETHNIC_GROUPS},
    "ltc_count": "Per long-term condition (up to 10)",
    **{f"frailty_{f}": f"Frailty {f} (vs fit/not assessed)" for f in FRAILTY_LEVELS},
    "prior_1": "1 prior emergency admission (vs 0)",
    "prior_2": "2 prior emergency admissions (vs 0)",
    "prior_3+": "3+ prior emergency admissions (vs 0)",
}



def _spline_knots() -> np.ndarray:
    lo, hi = SPLINE_RANGE
    return np.array([lo] * (SPLINE_DEGREE + 1) + list(SPLINE_INNER_KNOTS) + [hi] * (SPLINE_DEGREE + 1), float)


def _spline_basis_full(age: np.ndarray) -> np.ndarray:
    from scipy.interpolate import BSpline

    x = np.clip(np.asarray(age, dtype=float), *SPLINE_RANGE)
    return BSpline.design_matrix(x, _spline_knots(), SPLINE_DEGREE).toarray()


@functools.lru_cache(maxsize=1)
def _dropped_spline_basis() -> int:
    """The basis function dropped for identifiability (the basis sums to 1, like the intercept):
    the one largest at the reference age."""
    return int(np.argmax(_spline_basis_full(np.array([SPLINE_REFERENCE_AGE]))[0]))


def _spline_kept() -> list[int]:
    n_basis = len(_spline_knots()) - SPLINE_DEGREE - 1
    dropped = _dropped_spline_basis()
    return [j for j in range(n_basis) if j != dropped]


def spline_basis(age: np.ndarray) -> np.ndarray:
    """The age spline columns of the design (the dropped basis removed)."""
    return _spline_basis_full(age)[:, _spline_kept()]


def feature_names(age: str = "bands") -> list[str]:
    """Design columns in order (bands: the same names and order as the synthetic generator's truth.design_matrix)."""
    if age not in AGE_ENCODINGS:
        raise RiskModelError(f"age encoding must be one of {', '.join(AGE_ENCODINGS)}, got {age!r}")
    if age == "bands":
        age_cols = [f"age_{b}" for b in AGE_BANDS if b != REFERENCE_AGE_BAND]
    else:
        age_cols = [f"age_bs{j}" for j in _spline_kept()]
    return [*age_cols, "male", "imd_decile", *(f"ethnic_{g}" for g in ETHNIC_LEVELS), "ltc_count",
            *(f"frailty_{f}" for f in FRAILTY_LEVELS), *(f"prior_{c}" for c in PRIOR_CATEGORIES)]


def encoding_spec(age: str = "bands") -> dict:
    """Everything that defines the encoding, stored in the model file and checked on loading."""
    feature_names(age)
    return {
        "name": ENCODING_NAME,
        "version": ENCODING_VERSION,
        "age": age,
        "age_bands": list(AGE_BANDS),
        "spline": ({"degree": SPLINE_DEGREE, "knots": _spline_knots().tolist(), "kept_basis": _spline_kept(),
                    "reference_age": SPLINE_REFERENCE_AGE} if age == "spline" else None),
        "ltc_cap": LTC_CAP,
        "imd_decile": "linear: 1 = most deprived ... 10 = least deprived",
        "reference_levels": {"age_band": REFERENCE_AGE_BAND, "sex": "female", "ethnic_group": "white",
                             "frailty": "fit or not_assessed", "admissions_prev_12m": "0"},
    }


def age_band_codes(age: np.ndarray | pd.Series) -> np.ndarray:
    """Index into AGE_BANDS of each age."""
    return np.searchsorted(AGE_BAND_STARTS, np.asarray(age), side="right") - 1


def _numeric(frame: pd.DataFrame, column: str, low: float, high: float | None = None) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < low) | (values != np.round(values))
    if high is not None:
        bad |= values > high
    if bad.any():
        example = frame[column].iloc[int(np.flatnonzero(bad)[0])]
        span = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
        raise RiskModelError(f"column '{column}': {int(bad.sum()):,} values missing or not whole numbers in "
                             f"{span} (e.g. {example!r})")
    return values


def _codes(frame: pd.DataFrame, column: str, categories: Sequence[str]) -> np.ndarray:
    series = frame[column]
    codes = np.full(len(series), -1, dtype=np.int8)
    for i, category in enumerate(categories):
        codes[(series == category).to_numpy(dtype=bool, na_value=False)] = i
    if (codes < 0).any():
        bad = pd.unique(series[codes < 0].astype("object").fillna("<empty>"))[:5]
        raise RiskModelError(f"column '{column}': {int((codes < 0).sum()):,} values are not one of "
                             f"{', '.join(categories)} (e.g. {', '.join(map(repr, bad))})")
    return codes


def encode(frame: pd.DataFrame, age: str = "bands", imd_decile: ArrayLike | None = None) -> np.ndarray:
    """The float32 design matrix (rows of `frame`, columns `feature_names(age)`).

    `frame` has the PEOPLE columns age, sex, ethnic_group, ltc_count, frailty, admissions_prev_12m
    and imd_decile (the decile of the person's LSOA), unless `imd_decile` is given separately
    (aligned by position). Missing or unknown values raise RiskModelError naming the column."""
    names = feature_names(age)
    needed = [c for c in MODEL_COLUMNS if c != "imd_decile" or imd_decile is None]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RiskModelError(f"the people frame lacks column(s) {', '.join(missing)} needed by the risk model")
    n = len(frame)
    x = np.zeros((n, len(names)), dtype=np.float32)
    col = 0
    ages = _numeric(frame, "age", 0, 130)
    if age == "bands":
        band = age_band_codes(ages)
        for b, name in enumerate(AGE_BANDS):
            if name != REFERENCE_AGE_BAND:
                x[band == b, col] = 1
                col += 1
    else:
        k = len(_spline_kept())
        for start in range(0, n, CHUNK_ROWS):
            x[start:start + CHUNK_ROWS, col:col + k] = spline_basis(ages[start:start + CHUNK_ROWS])
        col += k
    x[:, col] = _codes(frame, "sex", SEXES) == SEXES.index("male")
    col += 1
    if imd_decile is None:
        x[:, col] = _numeric(frame, "imd_decile", 1, 10)
    else:
        x[:, col] = _numeric(pd.DataFrame({"imd_decile": np.asarray(imd_decile)}), "imd_decile", 1, 10)
    col += 1
    # not stated: no ethnic indicator, i.e. scored as the reference group (as the in-engine scoring's
    # `ethnic_group = 'x'` terms do): the model cannot use what the record does not hold
    ethnic = _codes(frame, "ethnic_group", ETHNIC_CODES)
    for g in ETHNIC_LEVELS:
        x[:, col] = ethnic == ETHNIC_GROUPS.index(g)
        col += 1
    x[:, col] = np.minimum(_numeric(frame, "ltc_count", 0), LTC_CAP)
    col += 1
    frailty = _codes(frame, "frailty", FRAILTY)
    for f in FRAILTY_LEVELS:
        x[:, col] = frailty == FRAILTY.index(f)
        col += 1
    prior = np.minimum(_numeric(frame, "admissions_prev_12m", 0), 3)
    for c in (1, 2, 3):
        x[:, col] = prior == c
        col += 1
    assert col == len(names)
    return x


class RiskEncoder(TransformerMixin, BaseEstimator):
    """Pipeline step: a people frame (with imd_decile) to the float32 design. Stateless: the levels
    come from explorer.vocab, so fitting only records the feature names."""

    def __init__(self, age: str = "bands"):
        self.age = age

    def fit(self, X: pd.DataFrame | None = None, y: ArrayLike | None = None) -> RiskEncoder:  # noqa: N803 - sklearn naming
        self.feature_names_out_ = np.asarray(feature_names(self.age), dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return encode(X, self.age)

    def get_feature_names_out(self, input_features: ArrayLike | None = None) -> np.ndarray:
        return np.asarray(feature_names(self.age), dtype=object)




def person_uniform(person_ids: ArrayLike, seed: int) -> np.ndarray:
    """A number in [0, 1) per person: a seeded hash of the person_id (pandas' SipHash), so the same
    person gets the same number for the same seed, whatever the row order or chunking."""
    key = hashlib.sha256(str(seed).encode()).hexdigest()[:16]
    hashed = pd.util.hash_pandas_object(pd.Series(person_ids).astype("str"), index=False, hash_key=key).to_numpy()
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2 ** 53)


def split_by_person(person_ids: ArrayLike, validation_share: float = DEFAULT_VALIDATION_SHARE,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """True for people in the validation set (person_uniform below the share): a person always falls
    on the same side for the same seed, whatever the row order or chunking."""
    if not 0 < validation_share < 1:
        raise RiskModelError(f"validation share must be between 0 and 1, got {validation_share!r}")
    return person_uniform(person_ids, seed) < validation_share



def join_deprivation(people: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """`people` with imd_decile, imd_quintile and core20 of each person's LSOA (from the bundle's
    LSOA table: lsoa_code, imd_decile[, imd_quintile, core20]). Unknown LSOAs raise."""
    table = lsoas.set_index("lsoa_code")
    where = table.index.get_indexer(people["lsoa_code"])
    if (where < 0).any():
        bad = pd.unique(people["lsoa_code"][where < 0])[:5]
        raise RiskModelError(f"{int((where < 0).sum()):,} people live in LSOAs not in the bundle "
                             f"(e.g. {', '.join(map(str, bad))}); rebuild the bundle or the records")
    decile = table["imd_decile"].to_numpy()[where]
    quintile = table["imd_quintile"].to_numpy()[where] if "imd_quintile" in table else (decile + 1) // 2
    core20 = table["core20"].to_numpy()[where] if "core20" in table else decile <= 2
    return people.assign(imd_decile=decile.astype(np.int64), imd_quintile=np.asarray(quintile, dtype=np.int64),
                         core20=np.asarray(core20, dtype=bool))

