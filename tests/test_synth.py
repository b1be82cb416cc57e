"""The synthetic person-level records: layouts, integrity, calibration, determinism, atomic writes.

Calibration targets and their sources are in explorer/synth/cohort.py and careplans.py; the
figures are recomputed here from the Parquet files with DuckDB, not read back from the manifest.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.records import store
from explorer.records.schema import (
    COMPLETENESS_ITEMS, EXTRACT_DATE, LAYOUTS, ORGANISATION_TYPES, PLANS, URGENT_CARE_SERVICES,
)
from explorer.synth import careplans, cohort, truth

EXTRACT = dt.date.fromisoformat(EXTRACT_DATE)
WINDOW_START = dt.date(2024, 11, 1)
TABLES = ("people", "plans", "plan_reviews", "plan_views", "users", "user_logins")


@pytest.fixture(scope="module")
def records(settings, london_records):
    return store.records_dir(settings, "london")


@pytest.fixture(scope="module")
def db(records, london_bundle):
    con = duckdb.connect()
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{store.table_glob(records, name)}')")
    lsoas = london_bundle.lsoas[["lsoa_code", "imd_quintile", "ics_code", "disabled", "not_disabled",
                                 *[c for c in london_bundle.lsoas.columns if c.startswith("ethnic_")]]]
    con.register("lsoas", lsoas)
    con.register("age_sex", london_bundle.age_sex)
    con.register("practices", london_bundle.practices[["practice_code", "in_region"]])
    yield con
    con.close()


def one(con, sql):
    return con.execute(sql).fetchone()


# ------------------------------------------------------------------------------------ people
def test_people_reproduce_every_lsoa_age_sex_count_exactly(db, london_bundle):
    assert one(db, "SELECT count(*) FROM people")[0] == london_bundle.lsoas["population"].sum()
    mismatched = one(db, """
        WITH made AS (
            SELECT lsoa_code, sex, CASE WHEN age < 16 THEN '0-15' WHEN age < 30 THEN '16-29'
                   WHEN age < 45 THEN '30-44' WHEN age < 65 THEN '45-64' ELSE '65+' END AS age_band,
                   count(*) AS n FROM people GROUP BY ALL)
        SELECT count(*) FROM age_sex a FULL JOIN made m USING (lsoa_code, sex, age_band)
        WHERE coalesce(a.population, 0) <> coalesce(m.n, 0)""")[0]
    assert mismatched == 0


def test_people_attributes_follow_census_and_age(db):
    disabled_gap, = one(db, """
        SELECT max(abs(d.n - l.disabled)) FROM (SELECT lsoa_code, sum(disabled::int) n FROM people GROUP BY 1) d
        JOIN lsoas l USING (lsoa_code)""")
    assert disabled_gap <= 12  # Census disabled + not disabled differs from the population by up to 10
    eth = db.execute("""
        SELECT l.ethnic_white AS census, count(*) FILTER (WHERE p.ethnic_group = 'white') AS made, count(*) AS n,
               count(*) FILTER (WHERE p.ethnic_group <> 'not_stated') AS recorded
        FROM people p JOIN lsoas l USING (lsoa_code) GROUP BY p.lsoa_code, l.ethnic_white""").df()
    # about 10% are not recorded (explorer.synth.recording), more often the young, whom London has
    # fewer White among: among the recorded, White follows the Census within 2%
    recorded = eth["recorded"].sum() / eth["n"].sum()
    assert abs(eth["made"].sum() / (eth["census"].sum() * recorded) - 1) < 0.02
    assert np.corrcoef(eth["made"], eth["census"])[0, 1] > 0.98
    white_old, white_all = one(db, """SELECT avg((ethnic_group = 'white')::int) FILTER (WHERE age >= 65),
                                             avg((ethnic_group = 'white')::int) FROM people""")
    assert white_old > white_all + 0.08  # London's older residents are more often White
    ltc_young, ltc_old = one(db, "SELECT avg(ltc_count) FILTER (WHERE age < 45), "
                                 "avg(ltc_count) FILTER (WHERE age >= 75) FROM people")
    assert ltc_old > 4 * ltc_young


def test_ethnic_group_is_not_recorded_for_about_one_in_ten_more_often_men_and_young_adults(db, london_records):
    share, men, women, young, old = one(db, """
        SELECT avg((ethnic_group = 'not_stated')::int),
               avg((ethnic_group = 'not_stated')::int) FILTER (WHERE sex = 'male'),
               avg((ethnic_group = 'not_stated')::int) FILTER (WHERE sex = 'female'),
               avg((ethnic_group = 'not_stated')::int) FILTER (WHERE age BETWEEN 16 AND 29),
               avg((ethnic_group = 'not_stated')::int) FILTER (WHERE age >= 75) FROM people""")
    # GDPPR: one in ten with no ethnic group in primary care (Pineda-Moncusi et al., Sci Data 2024)
    assert abs(share - 0.10) < 0.003
    assert london_records["calibration"]["ethnicity_not_recorded_share"] == pytest.approx(share, abs=1e-4)
    assert men > women + 0.02 and young > 2 * old


def test_frailty_is_assessed_from_65_and_near_clegg_prevalence(db):
    assert one(db, "SELECT count(*) FROM people WHERE (age < 65) <> (frailty = 'not_assessed')")[0] == 0
    shares = dict(db.execute("SELECT frailty, count(*) / sum(count(*)) OVER () FROM people WHERE age >= 65 "
                             "GROUP BY 1").fetchall())
    # Clegg et al., Age and Ageing 2016: fit 50%, mild 35%, moderate 12%, severe 3% of people 65+
    for category, target, tolerance in (("fit", 0.50, 0.03), ("mild", 0.35, 0.03), ("moderate", 0.12, 0.02),
                                        ("severe", 0.03, 0.01)):
        assert abs(shares[category] - target) < tolerance, (category, shares[category])
    severe_old, severe_young = one(db, """SELECT avg((frailty = 'severe')::int) FILTER (WHERE age >= 85),
                                                 avg((frailty = 'severe')::int) FILTER (WHERE age BETWEEN 65 AND 74)
                                          FROM people""")
    assert severe_old > 5 * severe_young


def test_emergency_admission_rate_is_plausible_with_a_deprivation_gradient(db):
    rate, = one(db, "SELECT avg(admitted_next_12m::int) FROM people")
    assert 0.06 <= rate <= 0.09
    by_q = dict(db.execute("SELECT imd_quintile, avg(admitted_next_12m::int) FROM people JOIN lsoas USING (lsoa_code) "
                           "GROUP BY 1").fetchall())
    assert 1.5 <= by_q[1] / by_q[5] <= 2.1
    assert by_q[1] > by_q[2] > by_q[3] > by_q[4] > by_q[5]
    prior_share, = one(db, "SELECT avg((admissions_prev_12m > 0)::int) FROM people")
    assert 0.04 < prior_share < 0.10


def test_outcome_follows_the_true_model(db, london_bundle):
    """The truth's mean predicted probability matches the observed rate, overall and at 85+."""
    sample = db.execute("SELECT * FROM people USING SAMPLE reservoir(200000 ROWS) REPEATABLE (7)").df()
    decile = sample["lsoa_code"].map(london_bundle.lsoas.set_index("lsoa_code")["imd_decile"])
    prob = truth.true_probability(sample, decile)
    for mask in (np.ones(len(sample), bool), (sample["age"] >= 85).to_numpy()):
        observed = sample.loc[mask, "admitted_next_12m"].mean()
        assert abs(prob[mask].mean() - observed) < 4 * np.sqrt(observed * (1 - observed) / mask.sum())


# ----------------------------------------------------------------------------- layouts and ids
def test_every_table_is_stored_in_its_layout(records):
    for name in TABLES:
        parts = sorted(store.table_dir(records, name).glob("part-*.parquet"))  # the version CURRENT names
        assert parts, name
        expected = store.arrow_schema(LAYOUTS[name])
        for part in parts:
            schema = pq.read_schema(part)
            assert schema.names == expected.names, name
            assert [f.type for f in schema] == [f.type for f in expected], name
    plans = store.read_table(records, "plans")
    assert str(plans["created_date"].dtype).startswith("datetime64")
    assert plans["status"].dtype == "str" and plans["resuscitation_decision"].dtype == bool
    assert len(list(store.table_dir(records, "people").glob("part-*.parquet"))) > 1  # written chunk by chunk


def test_identifiers_are_unique(db):
    for table, key in (("people", "person_id"), ("plans", "plan_id"), ("plan_reviews", "review_id"),
                       ("plan_views", "view_id"), ("users", "user_id")):
        n, distinct = one(db, f"SELECT count(*), count(DISTINCT {key}) FROM {table}")
        assert n == distinct and n > 0, table
    assert one(db, "SELECT count(*) - count(DISTINCT (user_id, month)) FROM user_logins")[0] == 0
    assert one(db, "SELECT count(*) FROM people WHERE NOT regexp_matches(person_id, '^P[0-9a-f]{12}$')")[0] == 0


def test_records_refer_to_records_that_exist(db):
    assert one(db, """SELECT count(*) FROM plans p ANTI JOIN people q
                      ON p.person_id = q.person_id AND p.lsoa_code = q.lsoa_code
                      AND p.practice_code = q.practice_code""")[0] == 0
    assert one(db, "SELECT count(*) - count(DISTINCT person_id) FROM plans")[0] == 0
    assert one(db, "SELECT count(*) FROM plan_reviews ANTI JOIN plans USING (plan_id)")[0] == 0
    assert one(db, "SELECT count(*) FROM plan_views ANTI JOIN plans USING (plan_id)")[0] == 0
    assert one(db, "SELECT count(*) FROM user_logins ANTI JOIN users USING (user_id)")[0] == 0
    assert one(db, "SELECT count(*) FROM people ANTI JOIN practices USING (practice_code)")[0] == 0
    assert one(db, "SELECT count(*) FROM users WHERE practice_code IS NOT NULL AND practice_code NOT IN "
                   "(SELECT practice_code FROM practices)")[0] == 0
    assert one(db, "SELECT count(*) FROM users ANTI JOIN lsoas USING (lsoa_code)")[0] == 0


# ------------------------------------------------------------------------------------- plans
def test_active_plans_match_coordinate_my_care(db):
    active, live = one(db, f"""SELECT count(*) FILTER (WHERE status = 'active'),
        count(*) FILTER (WHERE status <> 'draft' AND created_date <= DATE '{EXTRACT}'
                         AND (closed_date IS NULL OR closed_date > DATE '{EXTRACT}')) FROM plans""")
    assert abs(active / careplans.ACTIVE_PLANS_LONDON - 1) < 0.05  # CMC 2020: 40,612 living Londoners
    assert live == active


def test_plan_statuses_and_dates_are_consistent(db):
    statuses = dict(db.execute("SELECT status, count(*) FROM plans GROUP BY 1").fetchall())
    assert set(statuses) == {"active", "draft", "withdrawn", "deceased"} and statuses["draft"] > 100
    bad, = one(db, f"""SELECT count(*) FROM plans WHERE
        (status IN ('withdrawn', 'deceased')) <> (closed_date IS NOT NULL)
        OR closed_date < DATE '{WINDOW_START}' OR closed_date > DATE '{EXTRACT}' OR closed_date < created_date
        OR created_date < DATE '2011-01-01' OR created_date > DATE '{EXTRACT}'
        OR last_reviewed_date < created_date OR last_reviewed_date > coalesce(closed_date, DATE '{EXTRACT}')""")
    assert bad == 0
    recent, = one(db, "SELECT avg((created_date >= DATE '2023-11-01')::int) FROM plans")
    assert recent > 0.4  # most plans are recent
    # monthly snapshots move: live plans at the first and last month end of the window
    start, end = (one(db, f"""SELECT count(*) FROM plans WHERE status <> 'draft' AND created_date <= DATE '{d}'
                              AND (closed_date IS NULL OR closed_date > DATE '{d}')""")[0]
                  for d in ("2024-11-30", EXTRACT))
    assert 1.03 < end / start < 1.5


def test_plans_follow_need(db):
    by_age = dict(db.execute("""SELECT age >= 85, count(p.plan_id) FILTER (WHERE p.status = 'active') / count(*)
        FROM people q LEFT JOIN plans p USING (person_id) GROUP BY 1""").fetchall())
    assert by_age[True] > 20 * by_age[False]
    by_frailty = dict(db.execute("""SELECT q.frailty, avg(coalesce(p.status = 'active', false)::int)
        FROM people q LEFT JOIN plans p USING (person_id) WHERE q.age >= 65 GROUP BY 1""").fetchall())
    assert by_frailty["severe"] > by_frailty["moderate"] > by_frailty["mild"] > by_frailty["fit"]


def test_coverage_of_the_frail_is_lower_in_deprived_areas(db):
    coverage = db.execute("""
        SELECT l.ics_code, l.imd_quintile, avg(coalesce(p.status = 'active', false)::int) AS coverage
        FROM people q JOIN lsoas l USING (lsoa_code) LEFT JOIN plans p USING (person_id)
        WHERE q.frailty IN ('moderate', 'severe')
        GROUP BY GROUPING SETS ((l.imd_quintile), (l.ics_code, l.imd_quintile))
        """).df()
    london = coverage[coverage["ics_code"].isna()].set_index("imd_quintile")["coverage"]
    assert london[1] < london[5] - 0.01
    ics = coverage.dropna(subset=["ics_code"]).pivot(index="ics_code", columns="imd_quintile", values="coverage")
    assert len(ics) == 5 and (ics[1] < ics[5]).sum() >= 4


def test_completeness_reviews_and_views_are_calibrated(db):
    score = " + ".join(f"{item}::int" for item in COMPLETENESS_ITEMS)
    by_q = dict(db.execute(f"""SELECT imd_quintile, avg(({score}) / 10) FROM plans JOIN lsoas USING (lsoa_code)
                              WHERE status = 'active' GROUP BY 1""").fetchall())
    overall, = one(db, f"SELECT avg(({score}) / 10) FROM plans WHERE status = 'active'")
    assert 0.7 <= overall <= 0.8 and by_q[1] < by_q[5]
    item_rates = one(db, "SELECT " + ", ".join(f"avg({i}::int)" for i in COMPLETENESS_ITEMS) + " FROM plans")
    assert max(item_rates) - min(item_rates) > 0.3  # the items differ
    in_period, = one(db, f"""
        WITH latest AS (SELECT plan_id, max(review_date) AS reviewed FROM plan_reviews GROUP BY 1)
        SELECT avg((greatest(p.created_date, coalesce(l.reviewed, p.created_date))
                    + to_months(p.review_period_months) >= DATE '{EXTRACT}')::int)
        FROM plans p LEFT JOIN latest l USING (plan_id) WHERE p.status = 'active'""")
    assert 0.60 <= in_period <= 0.75
    assert one(db, "SELECT count(*) FROM plans p JOIN (SELECT plan_id, max(review_date) r FROM plan_reviews GROUP BY 1)"
                   " USING (plan_id) WHERE p.last_reviewed_date <> r")[0] == 0
    urgent = ", ".join(f"'{s}'" for s in URGENT_CARE_SERVICES)
    urgent_views, = one(db, f"""SELECT count(*) FROM plan_views WHERE service IN ({urgent})
                               AND view_date > DATE '{EXTRACT}' - INTERVAL 12 MONTH""")
    active, = one(db, "SELECT count(*) FROM plans WHERE status = 'active'")
    assert 1.3 < urgent_views / active < 1.7  # LUCP: 83,000 urgent views of ~55,000 plans a year
    admitted, not_admitted = one(db, f"""
        SELECT count(v.view_id) FILTER (WHERE q.admissions_prev_12m > 0) / count(DISTINCT p.plan_id)
                   FILTER (WHERE q.admissions_prev_12m > 0),
               count(v.view_id) FILTER (WHERE q.admissions_prev_12m = 0) / count(DISTINCT p.plan_id)
                   FILTER (WHERE q.admissions_prev_12m = 0)
        FROM plans p JOIN people q USING (person_id)
        LEFT JOIN (SELECT * FROM plan_views WHERE service IN ({urgent})) v USING (plan_id)
        WHERE p.status = 'active'""")
    assert admitted > 1.3 * not_admitted
    assert one(db, f"SELECT count(*) FROM plan_views v JOIN plans p USING (plan_id) WHERE v.view_date < p.created_date "
                   f"OR v.view_date >= coalesce(p.closed_date, DATE '{EXTRACT}' + 1) OR p.status = 'draft' "
                   f"OR v.view_date < DATE '{WINDOW_START}'")[0] == 0


# ------------------------------------------------------------------------------------- users
def test_users_and_logins_are_calibrated(db, london_bundle):
    per_practice = db.execute("""SELECT pr.practice_code, pr.in_region, count(u.user_id) n FROM practices pr
                                 LEFT JOIN users u USING (practice_code) GROUP BY 1, 2""").df()
    # users at the region's own practices; none at practices based elsewhere with a few patients here
    assert per_practice.loc[per_practice["in_region"], "n"].between(2, 8).all()
    assert (per_practice.loc[~per_practice["in_region"], "n"] == 0).all()
    assert {r[0] for r in db.execute("SELECT DISTINCT organisation_type FROM users").fetchall()} == \
        set(ORGANISATION_TYPES)
    assert one(db, "SELECT count(*) FROM users WHERE (organisation_type = 'gp_practice') <> "
                   "(practice_code IS NOT NULL)")[0] == 0
    users, = one(db, "SELECT count(*) FROM users")
    months = db.execute("""SELECT month, count(*) FILTER (WHERE logins >= 1) AS once,
                           count(*) FILTER (WHERE logins > 10) AS ten FROM user_logins GROUP BY 1""").df()
    assert len(months) == 24 and months["month"].min() == "2024-11" and months["month"].max() == "2026-10"
    assert 0.50 <= months["once"].mean() / users <= 0.60
    assert 0.10 <= months["ten"].mean() / users <= 0.15


# ---------------------------------------------------------------------------------- manifest
def test_manifest_describes_the_generation(records, london_records, db):
    manifest = store.read_manifest(records)
    assert manifest == london_records
    assert manifest["synthetic"] is True and manifest["seed"] == careplans.DEFAULT_SEED
    assert manifest["truth"] == truth.as_dict()
    for name in TABLES:
        assert manifest["rows"][name] == one(db, f"SELECT count(*) FROM {name}")[0], name
    calibration = manifest["calibration"]
    assert calibration["active_plans"] == one(db, "SELECT count(*) FROM plans WHERE status = 'active'")[0]
    assert set(calibration["coverage_moderate_severe_frail_q1_q5_by_ics"]) == set(
        r[0] for r in db.execute("SELECT DISTINCT ics_code FROM lsoas").fetchall())


def test_missing_records_say_how_to_make_them(tmp_path):
    with pytest.raises(store.DataMissingError, match="explorer data synth"):
        store.read_manifest(tmp_path)
    with pytest.raises(store.DataMissingError, match="explorer data synth"):
        store.table_glob(tmp_path, "plans")


# ------------------------------------------------------------------------------- determinism
def test_same_seed_same_people_and_a_different_seed_differs(london_bundle):
    first = next(cohort.generate_people(london_bundle, 11))
    again = next(cohort.generate_people(london_bundle, 11))
    other = next(cohort.generate_people(london_bundle, 12))
    pd.testing.assert_frame_equal(first, again)
    assert len(other) == len(first)  # the population is fixed by the bundle...
    assert not first["person_id"].equals(other["person_id"])  # ...the people are not
    assert (first["age"] != other["age"]).mean() > 0.5
    assert list(first.columns) == list(LAYOUTS["people"].columns)


def test_same_seed_same_users_and_logins(london_bundle):
    users = careplans.make_users(london_bundle, 5)
    pd.testing.assert_frame_equal(users, careplans.make_users(london_bundle, 5))
    pd.testing.assert_frame_equal(careplans.make_logins(users, 5), careplans.make_logins(users, 5))
    assert not careplans.make_users(london_bundle, 6)["user_id"].equals(users["user_id"])


def test_ids_never_collide():
    keys = cohort.id_keys(3, 1)
    values = cohort.scramble(np.arange(1_000_000, dtype=np.uint64), keys)
    assert len(np.unique(values)) == 1_000_000 and values.max() < 2**48


# ----------------------------------------------------------------------------------- storage
def _reviews(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"review_id": [f"R{i}" for i in range(start, start + n)], "plan_id": "C1",
                         "review_date": pd.to_datetime(["2026-01-31"] * n)})


def test_a_failed_write_keeps_the_previous_table(tmp_path):
    assert store.write_table(tmp_path, "plan_reviews", [_reviews(3), _reviews(2, 3)]) == 5

    def failing():
        yield _reviews(10, 100)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.write_table(tmp_path, "plan_reviews", failing())
    with pytest.raises(store.RecordsLayoutError, match="status"):
        store.write_table(tmp_path, "plans", [pd.DataFrame({"plan_id": ["C1"]})])
    kept = store.read_table(tmp_path, "plan_reviews")
    assert kept["review_id"].tolist() == ["R0", "R1", "R2", "R3", "R4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan_reviews"]  # no temporary directories left
    assert not (tmp_path / "plans").exists()


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(extra=1), "unexpected"),
    (lambda f: f.drop(columns="review_date"), "missing"),
    (lambda f: f.assign(review_date="2026-01-31"), "expected date"),
    (lambda f: f.assign(review_date=pd.to_datetime(["2026-01-31 10:00"] * len(f))), "time of day"),
    (lambda f: f.assign(plan_id=None), "empty values"),
])
def test_frames_are_checked_against_the_layout(tmp_path, change, message):
    with pytest.raises(store.RecordsLayoutError, match=message):
        store.write_table(tmp_path, "plan_reviews", [change(_reviews(2))])
    assert not (tmp_path / "plan_reviews").exists()


def test_values_are_checked_against_the_layout(tmp_path):
    people = pd.DataFrame({"person_id": ["P1"], "practice_code": ["Z1"], "lsoa_code": ["E01000001"],
                           "sex": ["female"], "age": [40], "ethnic_group": ["white"], "disabled": [False],
                           "ltc_count": [0], "frailty": ["not_assessed"], "admissions_prev_12m": [0]})
    assert store.write_table(tmp_path, "people", [people]) == 1  # the optional outcome may be absent
    assert store.read_table(tmp_path, "people")["admitted_next_12m"].isna().all()
    with pytest.raises(store.RecordsLayoutError, match="'unknown' is not one of"):
        store.write_table(tmp_path, "people", [people.assign(sex="unknown")])
    with pytest.raises(store.RecordsLayoutError, match="above the maximum"):
        store.write_table(tmp_path, "people", [people.assign(age=130)])
    with pytest.raises(store.RecordsLayoutError, match="expected bool"):
        store.write_table(tmp_path, "people", [people.assign(disabled=1)])


def test_an_empty_table_is_readable(tmp_path):
    assert store.write_table(tmp_path, "plans", []) == 0
    empty = store.read_table(tmp_path, "plans")
    assert list(empty.columns) == list(PLANS.columns) and len(empty) == 0
    glob = store.table_glob(tmp_path, "plans")
    assert duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0] == 0


# ---------------------------------------------------------------------------------------- CLI
def test_cli_synth_without_a_bundle_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["data", "synth", "--region", "london"])
    assert result.exit_code == 2
    assert "explorer data build --region london" in result.output and "Traceback" not in result.output


def test_cli_synth_passes_region_and_seed(cli_env, monkeypatch, london_records):
    calls = []

    def fake(settings, bundle, seed, ics=None):
        calls.append((bundle.region, seed, ics))
        return {**london_records, "generation_seconds": 0.1}

    monkeypatch.setattr(careplans, "generate_records", fake)
    result = CliRunner().invoke(app, ["data", "synth", "--region", "london", "--seed", "42", "--no-cells"])
    assert result.exit_code == 0, result.output
    assert calls == [("london", 42, None)]
    assert f"{london_records['rows']['people']:,} people" in result.output
