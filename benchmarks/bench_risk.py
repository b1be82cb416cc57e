"""Risk model: time and peak memory of training on 1 million people and scoring 8.8 million (London).

People are simulated with explorer.synth.simulated.simulated_people (random covariates, outcomes from
explorer.synth.truth), written to Parquet first, so the timed steps start from files as with real
records. Each step runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own;
"loaded" is the resident memory once the input is read, before the timed work.

Usage: python benchmarks/bench_risk.py [--train-rows 1000000] [--score-rows 8800000] [--no-gbm]
Writes benchmarks/results/risk.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "risk.json"

PREPARE = """
import sys
from pathlib import Path
import numpy as np, pandas as pd
from explorer.synth.simulated import simulated_people
out, train_rows, score_rows = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
people, lsoas = simulated_people(train_rows, seed=1, n_lsoas=4994)
people.to_parquet(out / "train.parquet")
lsoas.to_parquet(out / "lsoas.parquet")
(out / "score").mkdir()
chunk, start, part = 1_000_000, 0, 0
while start < score_rows:
    n = min(chunk, score_rows - start)
    frame, _ = simulated_people(n, seed=100 + part, n_lsoas=4994)  # same LSOA codes as the training lsoas
    frame["person_id"] = ("C%02d" % part) + frame["person_id"]
    frame.to_parquet(out / "score" / f"part-{part:05d}.parquet")
    start, part = start + n, part + 1
"""

TRAIN = """
import json, resource, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from explorer.domain import risk
from explorer.services import models
from explorer.synth import truth
from explorer.synth.simulated import true_risk

def rss():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

out, gbm = Path(sys.argv[1]), sys.argv[2] == "1"
people = pd.read_parquet(out / "train.parquet")
lsoas = pd.read_parquet(out / "lsoas.parquet")
frame = risk.join_deprivation(people, lsoas)
loaded = rss()
t0 = time.perf_counter()
model, validation = risk.fit_risk_model(frame, provenance={"synthetic": True})
fit_s = time.perf_counter() - t0
fit_rss = rss()
t1 = time.perf_counter()
valid = frame[validation]
p_valid = model.predict(valid)
report = risk.report_dict(model, valid, synthetic=True, risk_scores=p_valid, oracle=true_risk)
report_s = time.perf_counter() - t1
model.metrics = report
t2 = time.perf_counter()
path = models.save_model(model, out / "admission_risk.json")
loaded_model = models.load_model(path)
same = bool(np.array_equal(loaded_model.predict(valid), p_valid))
save_load_s = time.perf_counter() - t2
result = {"rows": len(frame), "training_rows": model.training["rows"], "validation_rows": int(validation.sum()),
          "fit_seconds": round(fit_s, 2), "report_seconds": round(report_s, 2),
          "save_load_seconds": round(save_load_s, 3), "round_trip_identical": same,
          "loaded_rss_mb": loaded, "fit_peak_rss_mb": fit_rss,
          "auc": report["auc"], "oracle_auc": report["oracle_auc"], "brier": report["brier"],
          "calibration_slope": report["calibration_slope"], "calibration_intercept": report["calibration_intercept"],
          "max_abs_log_or_error": float((model.coefficients - truth.true_coefficients()[model.features]).abs().max()),
          "worst_group": max(({"group": f"{g['dimension']}={g['group']}", "observed_expected": g["observed_expected"]}
                              for g in report["groups"]), key=lambda g: abs(np.log(g["observed_expected"])))}
if gbm:
    t3 = time.perf_counter()
    comparison = risk.compare_with_gbm(model, frame, validation, logistic_risk=p_valid)
    result["gbm_seconds"] = round(time.perf_counter() - t3, 1)
    result["gbm"] = comparison
result["peak_rss_mb"] = rss()
print(json.dumps(result))
"""

SCORE = """
import json, resource, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from explorer.domain import risk
from explorer.services import models

def rss():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

out = Path(sys.argv[1])
model = models.load_model(out / "admission_risk.json")
lsoas = pd.read_parquet(out / "lsoas.parquet")
lookup = lsoas.set_index("lsoa_code")["imd_decile"]
parts = sorted((out / "score").glob("part-*.parquet"))
columns = ["person_id", "lsoa_code", "sex", "age", "ethnic_group", "ltc_count", "frailty", "admissions_prev_12m"]
loaded = rss()
t0 = time.perf_counter()
chunks = (pd.read_parquet(p, columns=columns) for p in parts)
rows = models.write_risk_scores(out / "records", risk.score_people(model, chunks, lookup))
score_s = time.perf_counter() - t0
score_rss = rss()
t1 = time.perf_counter()
scores = pd.read_parquet(out / "records" / "risk_scores")
areas = pd.concat([pd.read_parquet(p, columns=["lsoa_code"]) for p in parts], ignore_index=True)
read_s = time.perf_counter() - t1
t2 = time.perf_counter()
definition = risk.RiskDefinition(kind="top_percent", value=10)
flags = risk.flag_high_risk(scores["risk"].to_numpy(), definition, tie_break=scores["person_id"].to_numpy())
flag_s = time.perf_counter() - t2
t3 = time.perf_counter()
has_plan = np.random.default_rng(0).random(len(scores)) < 0.05
table = risk.outreach_by_area(scores.assign(lsoa_code=areas["lsoa_code"].to_numpy(), high_risk=flags), has_plan,
                              "lsoa_code")
outreach_s = time.perf_counter() - t3
print(json.dumps({"rows": rows, "parts": len(parts), "score_and_write_seconds": round(score_s, 1),
                  "rows_per_second": round(rows / score_s), "loaded_rss_mb": loaded, "score_peak_rss_mb": score_rss,
                  "read_scores_seconds": round(read_s, 1), "flag_top_10_percent_seconds": round(flag_s, 2),
                  "flagged": int(flags.sum()), "outreach_by_lsoa_seconds": round(outreach_s, 2),
                  "areas": len(table), "peak_rss_mb": rss()}))
"""


def _run(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], check=True, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--score-rows", type=int, default=8_800_000)
    parser.add_argument("--no-gbm", action="store_true", help="skip the gradient-boosting comparison")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _run(PREPARE, tmp, str(opts.train_rows), str(opts.score_rows))
        train = _run(TRAIN, tmp, "0" if opts.no_gbm else "1")
        score = _run(SCORE, tmp)
    results = {"train": train, "score": score, "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    t, s = train, score
    print("| step | rows | time | peak RSS (loaded input) |")
    print("|---|---|---|---|")
    print(f"| encode + fit logistic (newton-cholesky) + Fisher CIs | {t['training_rows']:,} | {t['fit_seconds']} s | "
          f"{t['fit_peak_rss_mb']:,} MB ({t['loaded_rss_mb']:,} MB) |")
    print(f"| evaluate on held-out (AUC, oracle AUC, calibration, groups) | {t['validation_rows']:,} | "
          f"{t['report_seconds']} s | |")
    print(f"| save + load JSON model, predictions identical: {t['round_trip_identical']} | | "
          f"{t['save_load_seconds']} s | |")
    if "gbm" in t:
        g = t["gbm"]
        print(f"| gradient boosting comparison (offered: {g['offered']}) | {g['gbm']['train_rows']:,} | "
              f"{t['gbm_seconds']} s | {t['peak_rss_mb']:,} MB |")
    print(f"| score in chunks + write risk_scores | {s['rows']:,} | {s['score_and_write_seconds']} s "
          f"({s['rows_per_second']:,}/s) | {s['score_peak_rss_mb']:,} MB ({s['loaded_rss_mb']:,} MB) |")
    print(f"| flag top 10% (exact, ties by person_id) | {s['rows']:,} | {s['flag_top_10_percent_seconds']} s | |")
    print(f"| outreach by LSOA | {s['areas']:,} areas | {s['outreach_by_lsoa_seconds']} s | {s['peak_rss_mb']:,} MB |")
    print()
    print(f"AUC {t['auc']:.4f} vs oracle {t['oracle_auc']:.4f}; max |fitted - true| log OR "
          f"{t['max_abs_log_or_error']:.4f}; calibration slope {t['calibration_slope']:.3f}, intercept "
          f"{t['calibration_intercept']:+.3f}; worst group O/E {t['worst_group']['group']} "
          f"{t['worst_group']['observed_expected']:.3f}")
    if "gbm" in t:
        g = t["gbm"]
        print(f"GBM AUC {g['gbm']['auc']:.4f} / Brier {g['gbm']['brier']:.5f} vs logistic "
              f"{g['logistic']['auc']:.4f} / {g['logistic']['brier']:.5f}")


if __name__ == "__main__":
    main()
