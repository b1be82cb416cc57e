"""A seeded synthetic registered population, person by person, in the PEOPLE layout.

`generate_people(bundle, seed)` yields one frame per chunk of whole places (about CHUNK_LSOAS
LSOAs), so England's 57 million people can be generated and written chunk by chunk. Every chunk
has its own random stream (seed, chunk number), so a chunk does not depend on the ones before it.

How each attribute is made (parameters are the module-level constants below, stored in the
records manifest by `parameters()`):
- Residents: each LSOA's bundle age-sex table (5 bands x 2 sexes) is reproduced exactly; it is the
  LSOA's own (explorer.bundle.population: mid-2020 estimates in London, elsewhere the LSOA's Census
  2021 age bands split by sex with England's mid-2021 shares). The 65+ band is split into 65-74 /
  75-84 / 85+ with national sex-specific shares (SPLIT_65_PLUS, the same in every LSOA, so an old
  coastal LSOA has more 85+ people only because it has more 65+), and single years are drawn within
  bands (SINGLE_YEAR_WEIGHTS: flat under 65, falling with age above).
- Practice: drawn per person from the LSOA's registrations in `bundle.practice_shares`: with the
  official NHS files these are the real patients per practice and LSOA (July 2023, carried to LSOA
  2021; explorer.bundle.registrations), so each LSOA's people spread over practices as its real
  registered patients do; without them, the synthetic fallback's. The number of people per LSOA
  stays the resident population (the age-sex table), not the registered list size, which is larger
  (London: 10.8 million registered live in its LSOAs, 8.8 million residents): lists include people
  who have moved away. An LSOA with no registrations borrows its place's mix.
- Ethnic group: from the LSOA's Census 2021 five-group counts, tilted by age (ETHNIC_AGE_TILT:
  London's older residents are more often White, its children more often Mixed). The tilt is
  balanced per LSOA by iterative proportional fitting, so each LSOA's expected counts equal the
  Census counts; the drawn counts differ only by sampling noise.
- Disabled: probability rising with age (DISABILITY_BY_AGE, close to Census 2021 England by age),
  shifted per LSOA so that exactly the LSOA's Census 2021 disabled count (TS038, scaled to the
  population) is disabled, the most likely ones chosen by logistic-noise ranking.
- Long-term conditions: gamma-Poisson (negative binomial) counts with means rising steeply with
  age (LTC_MEAN_BY_AGE), higher with deprivation (multimorbidity starts 10-15 years earlier in the
  most deprived areas: Barnett et al., Lancet 2012) and with disability.
- Frailty (65+ only, else not_assessed): an ordered logistic in age, conditions, disability and
  deprivation, with cut points tuned on the London cohort so that its 65+ are about 50% fit, 35% mild,
  12% moderate and 3% severe: the eFI prevalences of Clegg et al., Age and Ageing 2016
  (doi:10.1093/ageing/afw039).
- Emergency admissions in the past 12 months: gamma-Poisson, rising with age, conditions, frailty
  and deprivation (about 7% of people with one or more, 0.095 admissions a head; England has
  about 6.3 million emergency admissions a year for 57 million people, many of them repeats).
- Admitted in the next 12 months: drawn from explorer.synth.truth.true_probability, the known
  logistic model the risk model's tests recover.
- person_id: 'P' and 12 hex digits, a seeded bijection of the person's running number, so ids are
  unique, deterministic and carry no information.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from explorer.bundle.population import AGE_BANDS as BUNDLE_BANDS
from explorer.bundle.store import Bundle
from explorer.records.schema import AGE_BANDS, ETHNIC_GROUPS, FRAILTY, PEOPLE, SEXES
from explorer.synth import truth

CHUNK_LSOAS = 500  # whole places are added to a chunk until it holds at least this many LSOAs
BAND_LIMITS = {"0-15": (0, 15), "16-29": (16, 29), "30-44": (30, 44), "45-64": (45, 64), "65-74": (65, 74),
               "75-84": (75, 84), "85+": (85, 105)}

# Shares of the 65+ band aged 65-74, 75-84 and 85+. Approximation rounded from Census 2021
# (England and Wales, TS009 sex by single year of age): of all 65+ about 54% / 33% / 13%; women
# live longer, so their 85+ share is larger.
SPLIT_65_PLUS = {"female": (0.52, 0.33, 0.15), "male": (0.57, 0.33, 0.10)}
# Yearly factor of the weight of each single year within its band (weight = factor ** years above
# the band's first year): flat under 65; above, falling as cohorts shrink (85+: 0.82 a year, to 105).
SINGLE_YEAR_WEIGHTS = {"0-15": 1.0, "16-29": 1.0, "30-44": 1.0, "45-64": 1.0, "65-74": 0.975, "75-84": 0.95,
                       "85+": 0.82}
# Relative odds of each ethnic group by age band, against White, before balancing to each LSOA's
# Census counts. Approximate shape of Census 2021 London ethnic group by age (RM032): White is
# about 70% of Londoners aged 65+ against 54% of all; Mixed is young.
ETHNIC_AGE_TILT = {
    "0-15": {"asian": 1.20, "black": 1.30, "mixed": 2.60, "white": 1.0, "other": 1.10},
    "16-29": {"asian": 1.25, "black": 1.20, "mixed": 1.60, "white": 1.0, "other": 1.20},
    "30-44": {"asian": 1.20, "black": 0.95, "mixed": 0.90, "white": 1.0, "other": 1.30},
    "45-64": {"asian": 0.95, "black": 1.00, "mixed": 0.55, "white": 1.0, "other": 0.90},
    "65-74": {"asian": 0.70, "black": 0.70, "mixed": 0.35, "white": 1.0, "other": 0.60},
    "75-84": {"asian": 0.55, "black": 0.50, "mixed": 0.25, "white": 1.0, "other": 0.45},
    "85+": {"asian": 0.40, "black": 0.35, "mixed": 0.20, "white": 1.0, "other": 0.35},
}
# Share disabled under the Equality Act by age before the per-LSOA shift (Census 2021 England,
# TS038 by age, rounded).
DISABILITY_BY_AGE = {"0-15": 0.06, "16-29": 0.12, "30-44": 0.13, "45-64": 0.21, "65-74": 0.30, "75-84": 0.43,
                     "85+": 0.63}
# Mean number of long-term conditions by age in the least deprived decile, non-disabled women
# (shaped on Barnett et al., Lancet 2012: half of people over 65 and most over 75 multimorbid).
LTC_MEAN_BY_AGE = {"0-15": 0.10, "16-29": 0.22, "30-44": 0.40, "45-64": 0.85, "65-74": 1.3, "75-84": 1.75,
                   "85+": 2.1}
LTC = {"per_decile_more_deprived": 0.07, "disabled": 1.8, "male": 0.95, "gamma_shape": 3.0, "max": 20}
# Frailty: latent = age + ltc + disability + deprivation + logistic noise, cut into eFI categories.
FRAILTY_MODEL = {"age": {"65-74": 0.0, "75-84": 1.0, "85+": 2.0}, "per_ltc": 0.40, "ltc_cap": 10,
                 "disabled": 0.8, "per_decile_more_deprived": 0.03, "cuts": (1.90, 4.45, 6.85)}
FRAILTY_TARGET = {"fit": 0.50, "mild": 0.35, "moderate": 0.12, "severe": 0.03}  # Clegg et al. 2016, 65+
# Emergency admissions in the previous 12 months: log rate, gamma-Poisson.
PRIOR_ADMISSIONS = {"intercept": -3.35, "age": {"0-15": 0.3, "16-29": -0.15, "30-44": -0.1, "45-64": 0.0,
                                                "65-74": 0.3, "75-84": 0.6, "85+": 0.9},
                    "per_ltc": 0.20, "ltc_cap": 10, "frailty": {"mild": 0.4, "moderate": 0.8, "severe": 1.1},
                    "per_decile_more_deprived": 0.08, "male": 0.05, "gamma_shape": 0.5}

_SEX_LABELS = pa.array(SEXES)
_BAND_LABELS = pa.array(AGE_BANDS)
_ETHNIC_LABELS = pa.array(ETHNIC_GROUPS)
_FRAILTY_LABELS = pa.array(FRAILTY)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MASK48 = np.uint64(2**48 - 1)


def parameters() -> dict:
    """Every generating parameter, for the records manifest."""
    return {"chunk_lsoas": CHUNK_LSOAS, "split_65_plus": SPLIT_65_PLUS, "single_year_weights": SINGLE_YEAR_WEIGHTS,
            "ethnic_age_tilt": ETHNIC_AGE_TILT, "disability_by_age": DISABILITY_BY_AGE,
            "ltc_mean_by_age": LTC_MEAN_BY_AGE, "ltc": LTC, "frailty": FRAILTY_MODEL,
            "frailty_target": FRAILTY_TARGET, "prior_admissions": PRIOR_ADMISSIONS}


# ---------------------------------------------------------------------------------------------- ids
def id_keys(seed: int, stream: int) -> np.ndarray:
    """Three 48-bit keys for pseudonymous ids of one kind (stream) under one seed."""
    return np.random.default_rng([seed, 7_919, stream]).integers(1, 2**48, size=3, dtype=np.uint64)


def scramble(counter: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """A keyed bijection of 48-bit integers (odd multiplications, xor-shifts and xors mod 2**48):
    distinct counters always give distinct results."""
    x = (counter.astype(np.uint64) ^ keys[0]) & _MASK48
    for key in keys[1:]:
        x = (x * (key | np.uint64(1))) & _MASK48
        x ^= x >> np.uint64(19)
        x = (x * np.uint64(0x5DEECE66D)) & _MASK48
        x ^= x >> np.uint64(23)
    return x ^ keys[2]


def format_ids(prefix: str, values: np.ndarray) -> pd.Series:
    """'<prefix>' + 12 lower-case hex digits for each 48-bit value, as a str Series."""
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    digits = _HEX[((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    width = len(prefix) + 12
    buf = np.empty((len(values), width), dtype=np.uint8)
    buf[:, :len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    buf[:, len(prefix):] = digits
    return pd.Series(pd.array(pa.array(buf.view(f"S{width}").ravel()).cast(pa.string()), dtype="str"))


def make_ids(prefix: str, start: int, count: int, keys: np.ndarray) -> pd.Series:
    return format_ids(prefix, scramble(np.arange(start, start + count, dtype=np.uint64), keys))


def strings(labels: pa.Array, codes: np.ndarray) -> pd.Series:
    """A str Series of labels[codes], built in Arrow (fast, no Python objects)."""
    return pd.Series(pd.array(labels.take(pa.array(codes.astype(np.int32))), dtype="str"))


# ------------------------------------------------------------------------------------------- chunks
def place_chunks(lsoas: pd.DataFrame, chunk_lsoas: int = CHUNK_LSOAS) -> list[np.ndarray]:
    """Row positions of `lsoas` (sorted by place, then LSOA) in chunks of whole places."""
    order = lsoas.sort_values(["place_code", "lsoa_code"]).index
    place = lsoas.loc[order, "place_code"].to_numpy()
    positions = lsoas.index.get_indexer(order)
    chunks, current = [], []
    starts = np.flatnonzero(np.r_[True, place[1:] != place[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(place)]):
        current.extend(positions[start:stop])
        if len(current) >= chunk_lsoas:
            chunks.append(np.asarray(current))
            current = []
    if current:
        chunks.append(np.asarray(current))
    return chunks


def _age_sex_counts(age_sex: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """counts[lsoa, sex, band] for the chunk's LSOAs (in `codes` order), 5 bundle bands."""
    sub = age_sex[age_sex["lsoa_code"].isin(codes)]
    li = pd.Index(codes).get_indexer(sub["lsoa_code"])
    si = pd.Index(SEXES).get_indexer(sub["sex"])
    bi = pd.Index(BUNDLE_BANDS).get_indexer(sub["age_band"])
    if (si < 0).any() or (bi < 0).any():
        raise ValueError("the bundle's age-sex table has unexpected sexes or age bands")
    counts = np.zeros((len(codes), len(SEXES), len(BUNDLE_BANDS)), dtype=np.int64)
    np.add.at(counts, (li, si, bi), sub["population"].to_numpy(np.int64))
    return counts


def _practice_cdf(shares: pd.DataFrame, codes: np.ndarray, place_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A flat lookup for drawing practices: returns (keys, practice labels) where keys run
    lsoa_index + cumulative share within that LSOA. LSOAs with no registrations borrow their place's."""
    sub = shares[shares["lsoa_code"].isin(codes) & (shares["patients"] > 0)]
    li = pd.Index(codes).get_indexer(sub["lsoa_code"])
    frame = pd.DataFrame({"li": li, "practice": sub["practice_code"].to_numpy(), "w": sub["patients"].to_numpy(float)})
    missing = np.setdiff1d(np.arange(len(codes)), li)
    if len(missing):
        by_place = frame.assign(place=place_of[frame["li"]]).groupby(["place", "practice"], as_index=False)["w"].sum()
        borrowed = [by_place[by_place["place"] == place_of[m]].assign(li=m) for m in missing]
        borrowed = [b for b in borrowed if len(b)]
        if len(borrowed) < len(missing):
            raise ValueError("some LSOAs have no GP registrations in their place (practice_shares)")
        frame = pd.concat([frame, *[b[["li", "practice", "w"]] for b in borrowed]], ignore_index=True)
    frame = frame.sort_values(["li", "practice"], kind="stable", ignore_index=True)
    cum = frame.groupby("li")["w"].cumsum() / frame.groupby("li")["w"].transform("sum")
    keys = frame["li"].to_numpy(float) + cum.to_numpy()
    return keys, frame["practice"].to_numpy()


def _balance_ethnicity(n_band: np.ndarray, target: np.ndarray, tilt: np.ndarray, rounds: int = 40) -> np.ndarray:
    """p[lsoa, band, group] proportional to w[lsoa, group] * tilt[band, group], with w fitted so that
    sum over bands of n_band * p equals each LSOA's target counts."""
    totals = target.sum(axis=1, keepdims=True)
    w = np.where(totals > 0, target / np.maximum(totals, 1), 1.0 / target.shape[1]) + 1e-12
    for _ in range(rounds):
        p = w[:, None, :] * tilt[None, :, :]
        p /= p.sum(axis=2, keepdims=True)
        expected = (n_band[:, :, None] * p).sum(axis=1)
        w *= np.where(expected > 0, target / np.maximum(expected, 1e-12), 1.0)
        w = np.maximum(w, 1e-12)
    p = w[:, None, :] * tilt[None, :, :]
    return p / p.sum(axis=2, keepdims=True)


def _shift_to_totals(n_band: np.ndarray, base_logit: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Per-LSOA shift a so that sum_b n_band * sigmoid(base_logit_b + a) = totals (bisection)."""
    lo, hi = np.full(len(totals), -20.0), np.full(len(totals), 20.0)
    for _ in range(50):
        mid = (lo + hi) / 2
        expected = (n_band / (1 + np.exp(-(base_logit[None, :] + mid[:, None])))).sum(axis=1)
        too_many = expected > totals
        hi = np.where(too_many, mid, hi)
        lo = np.where(too_many, lo, mid)
    return (lo + hi) / 2


def _top_k_per_group(group: np.ndarray, score: np.ndarray, k: np.ndarray) -> np.ndarray:
    """True for the k[g] highest scores within each group g (group sorted or not)."""
    order = np.lexsort((-score, group))
    g_sorted = group[order]
    first = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(len(order)) - first
    chosen = np.zeros(len(group), dtype=bool)
    chosen[order] = rank < k[g_sorted]
    return chosen


def _single_years(rng: np.random.Generator, band7: np.ndarray) -> np.ndarray:
    age = np.empty(len(band7), dtype=np.int64)
    for b, name in enumerate(AGE_BANDS):
        mask = band7 == b
        low, high = BAND_LIMITS[name]
        weights = SINGLE_YEAR_WEIGHTS[name] ** np.arange(high - low + 1)
        cdf = np.cumsum(weights) / weights.sum()
        age[mask] = low + np.searchsorted(cdf, rng.random(int(mask.sum())), side="right")
    return np.minimum(age, 115)


def generate_chunk(bundle: Bundle, positions: np.ndarray, rng: np.random.Generator, id_start: int,
                   keys: np.ndarray) -> pd.DataFrame:
    """The PEOPLE frame for the LSOAs at `positions` of bundle.lsoas."""
    lsoas = bundle.lsoas.iloc[positions]
    codes = lsoas["lsoa_code"].to_numpy()
    counts = _age_sex_counts(bundle.age_sex, codes)
    n_lsoa = len(codes)

    # residents: exact LSOA x sex x band counts, 65+ split, single years
    cell_counts = counts.reshape(-1)
    cells = np.repeat(np.arange(len(cell_counts)), cell_counts)
    lsoa_i, rest = np.divmod(cells, len(SEXES) * len(BUNDLE_BANDS))
    sex_i, band5 = np.divmod(rest, len(BUNDLE_BANDS))
    n = len(cells)
    band7 = band5.copy()
    old = band5 == 4
    split = np.array([np.cumsum(SPLIT_65_PLUS[s]) for s in SEXES])
    band7[old] = 4 + (rng.random(int(old.sum()))[:, None] > split[sex_i[old]][:, :2]).sum(axis=1)
    age = _single_years(rng, band7)

    # practice
    place_codes = lsoas["place_code"].to_numpy()
    keys_cdf, practices = _practice_cdf(bundle.practice_shares, codes, place_codes)
    pick = np.searchsorted(keys_cdf, lsoa_i + rng.random(n) * (1 - 1e-12), side="right")
    practice = pd.Series(pd.array(practices[np.minimum(pick, len(practices) - 1)], dtype="str"))

    # ethnic group, balanced to each LSOA's Census counts
    n_band = np.zeros((n_lsoa, len(AGE_BANDS)))
    np.add.at(n_band, (lsoa_i, band7), 1)
    target = lsoas[[f"ethnic_{g}" for g in ETHNIC_GROUPS]].to_numpy(float, copy=True)
    target *= (n_band.sum(axis=1) / np.maximum(target.sum(axis=1), 1))[:, None]
    tilt = np.array([[ETHNIC_AGE_TILT[b][g] for g in ETHNIC_GROUPS] for b in AGE_BANDS])
    p_eth = _balance_ethnicity(n_band, target, tilt)
    cum = np.cumsum(p_eth[lsoa_i, band7], axis=1)
    ethnic = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(ETHNIC_GROUPS) - 1)

    # disabled: exactly the Census count per LSOA (scaled to the population), most likely by age
    census_total = (lsoas["disabled"] + lsoas["not_disabled"]).to_numpy(float)
    want = np.rint(lsoas["disabled"].to_numpy(float) * n_band.sum(axis=1) / np.maximum(census_total, 1))
    want = np.clip(want, 0, n_band.sum(axis=1)).astype(np.int64)
    base = np.log(np.array([DISABILITY_BY_AGE[b] / (1 - DISABILITY_BY_AGE[b]) for b in AGE_BANDS]))
    shift = _shift_to_totals(n_band, base, want.astype(float))
    score = base[band7] + shift[lsoa_i] + rng.logistic(size=n)
    disabled = _top_k_per_group(lsoa_i, score, want)

    # long-term conditions
    decile = lsoas["imd_decile"].to_numpy(np.int64)[lsoa_i]
    deprived = (10 - decile).astype(float)  # 0 in the least deprived decile, 9 in the most
    mean = (np.array([LTC_MEAN_BY_AGE[b] for b in AGE_BANDS])[band7]
            * np.exp(LTC["per_decile_more_deprived"] * deprived)
            * np.where(disabled, LTC["disabled"], 1.0) * np.where(sex_i == 1, LTC["male"], 1.0))
    shape = LTC["gamma_shape"]
    ltc = np.minimum(rng.poisson(mean * rng.gamma(shape, 1 / shape, n)), LTC["max"])

    # frailty (65+)
    fm = FRAILTY_MODEL
    latent = (np.array([fm["age"].get(b, 0.0) for b in AGE_BANDS])[band7]
              + fm["per_ltc"] * np.minimum(ltc, fm["ltc_cap"])
              + fm["disabled"] * disabled + fm["per_decile_more_deprived"] * deprived + rng.logistic(size=n))
    frail = np.searchsorted(np.asarray(fm["cuts"]), latent)  # 0 fit .. 3 severe
    frail = np.where(band7 >= 4, frail, FRAILTY.index("not_assessed"))

    # emergency admissions in the last 12 months
    pa_ = PRIOR_ADMISSIONS
    frail_effect = np.array([0.0, *(pa_["frailty"][f] for f in ("mild", "moderate", "severe")), 0.0])
    log_rate = (pa_["intercept"] + np.array([pa_["age"][b] for b in AGE_BANDS])[band7]
                + pa_["per_ltc"] * np.minimum(ltc, pa_["ltc_cap"]) + frail_effect[frail]
                + pa_["per_decile_more_deprived"] * deprived + pa_["male"] * (sex_i == 1))
    shape = pa_["gamma_shape"]
    prior = np.minimum(rng.poisson(np.exp(log_rate) * rng.gamma(shape, 1 / shape, n)), 100)

    # admitted in the next 12 months: the known truth
    cat = pd.Categorical.from_codes
    design_input = pd.DataFrame({
        "age_band": cat(band7, AGE_BANDS), "sex": cat(sex_i, SEXES), "ethnic_group": cat(ethnic, ETHNIC_GROUPS),
        "ltc_count": ltc, "frailty": cat(frail, FRAILTY), "admissions_prev_12m": prior})
    p_admit = truth.true_probability(design_input, pd.Series(decile))
    admitted = rng.random(n) < p_admit

    frame = pd.DataFrame({
        "person_id": make_ids("P", id_start, n, keys),
        "practice_code": practice,
        "lsoa_code": strings(pa.array(codes.astype(str)), lsoa_i),
        "sex": strings(_SEX_LABELS, sex_i),
        "age": age,
        "ethnic_group": strings(_ETHNIC_LABELS, ethnic),
        "disabled": disabled,
        "ltc_count": ltc.astype(np.int64),
        "frailty": strings(_FRAILTY_LABELS, frail),
        "admissions_prev_12m": prior.astype(np.int64),
        "admitted_next_12m": admitted,
    })
    return frame[list(PEOPLE.columns)]


def generate_people(bundle: Bundle, seed: int) -> Iterator[pd.DataFrame]:
    """The region's registered population in chunks of whole places (PEOPLE layout).

    Deterministic: the same bundle and seed give identical frames; each chunk uses its own random
    stream, and person ids continue a running number across chunks."""
    keys = id_keys(seed, 1)
    start = 0
    for number, positions in enumerate(place_chunks(bundle.lsoas)):
        rng = np.random.default_rng([seed, 1, number])
        frame = generate_chunk(bundle, positions, rng, start, keys)
        start += len(frame)
        yield frame
