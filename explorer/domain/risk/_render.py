"""The model card as text: a terminal headline, markdown, html and json.

The html page holds the tables; figures, already rendered to html fragments by the figures layer, are passed in by the caller and placed after the limits."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

import numpy as np

from explorer.domain.risk._card import DIMENSION_LABELS, OE_TOLERANCE
from explorer.domain.risk._errors import RiskModelError
from explorer.domain.risk._serialise import json_safe


def headline(report: Mapping) -> str:
    """A few lines for the terminal."""
    lines = []
    if report.get("card", {}).get("synthetic"):
        lines.append("SYNTHETIC DATA: trained and evaluated on simulated people")
    auc = f"AUC {report['auc']:.3f}"
    if report.get("oracle_auc") is not None:
        auc += f" (true model on the same people: {report['oracle_auc']:.3f})"
    lines.append(f"{auc}; Brier {report['brier']:.4f}; calibration slope {report['calibration_slope']:.3f}, "
                 f"intercept {report['calibration_intercept']:+.3f}")
    lines.append(f"high risk = {report['risk_definition']['description']}: risk >= {report['threshold']:.3f}, "
                 f"{report['flag_rate']:.1%} flagged, false-negative rate {report['false_negative_rate']:.1%}")
    worst = max(report["groups"], key=lambda g: abs(np.log(g["observed_expected"] or 1.0)))
    furthest = f"{DIMENSION_LABELS[worst['dimension']]} {worst['label']} {worst['observed_expected']:.3f}"
    lines.append(f"groups outside O/E {OE_TOLERANCE[0]}-{OE_TOLERANCE[1]}: "
                 + (", ".join(report["flagged_groups"]) or "none") + f" (furthest: {furthest})")
    comparison = report.get("comparison")
    if comparison:
        lines.append(f"gradient boosting: AUC {comparison['gbm']['auc']:.3f}, Brier {comparison['gbm']['brier']:.4f}"
                     f" -> {'offered' if comparison['offered'] else 'not offered'}")
    return "\n".join(lines)




def _fmt(value: object, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "int":
        return f"{value:,}"
    if kind == "ratio":
        return f"{value:.3f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _ci(row: Mapping, lower: str = "ci_lower", upper: str = "ci_upper") -> str:
    return f"{_fmt(row[lower], 'ratio')}-{_fmt(row[upper], 'ratio')}"


def _tables(report: Mapping) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table of the report, shared by markdown and html."""
    summary = [["ROC AUC (held-out)", _fmt(report["auc"], "ratio")]]
    if report.get("oracle_auc") is not None:
        summary.append(["ROC AUC of the true model on the same people (synthetic only)",
                        _fmt(report["oracle_auc"], "ratio")])
    summary += [
        ["Brier score", f"{report['brier']:.4f}"],
        ["Admission rate (observed / mean predicted)", f"{report['prevalence']:.2%} / {report['mean_predicted']:.2%}"],
        ["Calibration slope", _fmt(report["calibration_slope"], "ratio")],
        ["Calibration intercept (slope fixed at 1)", f"{report['calibration_intercept']:+.3f}"],
        ["High risk", report["risk_definition"]["description"]],
        ["Threshold (predicted risk)", _fmt(report["threshold"], "ratio")],
        ["Flag rate", _fmt(report["flag_rate"], "pct")],
        ["False-negative rate (admitted but not flagged)", _fmt(report["false_negative_rate"], "pct")],
        ["Positive predictive value (flagged who were admitted)", _fmt(report["positive_predictive_value"], "pct")],
        ["Groups outside O/E 0.9-1.1", ", ".join(report["flagged_groups"]) or "none"],
    ]
    model = report.get("model") or {}
    summary += [["Training / held-out people", f"{_fmt(model.get('training_rows'), 'int')} / "
                                               f"{_fmt(model.get('validation_rows'), 'int')}"],
                ["Model", f"logistic regression, age as {model.get('age_encoding')}, penalty {model.get('penalty')}"],
                ["Training data sha256", str(model.get("training_data_sha256", ""))[:16] + "..."],
                ["Created", str(model.get("created_at", ""))]]
    tables = [("Performance on held-out people", ["Measure", "Value"], summary)]
    tables.append(("Odds ratios (95% CI)", ["Feature", "Odds ratio", "95% CI"], [
        [o["label"], _fmt(o["odds_ratio"], "ratio"), _ci(o)] for o in report["odds_ratios"]]))
    if (report.get("model") or {}).get("age_encoding") == "spline":
        tables.append(("Age (odds ratio against age 55)", ["Age", "Odds ratio", "95% CI"], [
            [str(a["age"]), _fmt(a["odds_ratio"], "ratio"), _ci(a)] for a in report["age_curve"]]))
    header = ["Decile", "People", "Observed", "Expected", "Predicted", "Observed rate", "O/E"]
    tables.append(("Calibration by risk decile", header, [
        [str(d["decile"]), _fmt(d["n"], "int"), _fmt(d["observed"], "int"), f"{d['expected']:,.1f}",
         _fmt(d["mean_predicted"], "pct"), _fmt(d["observed_rate"], "pct"), _fmt(d["observed_expected"], "ratio")]
        for d in report["deciles"]]))
    header = ["Group", "People", "Observed", "Expected", "O/E (95% CI)", "Flag rate", "False-negative rate",
              "Outside 0.9-1.1"]
    tables.append(("Calibration and flagging by group", header, [
        [f"{DIMENSION_LABELS[g['dimension']]}: {g['label']}", _fmt(g["n"], "int"), _fmt(g["observed"], "int"),
         f"{g['expected']:,.1f}",
         f"{_fmt(g['observed_expected'], 'ratio')} ({_ci(g, 'observed_expected_lower', 'observed_expected_upper')})",
         _fmt(g["flag_rate"], "pct"), _fmt(g["false_negative_rate"], "pct"), "FLAG" if g["flagged"] else ""]
        for g in report["groups"]]))
    comparison = report.get("comparison")
    if comparison:
        tables.append(("Logistic regression vs gradient boosting (held-out)", ["Model", "AUC", "Brier"], [
            ["Logistic regression (in use)", _fmt(comparison["logistic"]["auc"], "ratio"),
             f"{comparison['logistic']['brier']:.4f}"],
            [f"HistGradientBoosting ({comparison['gbm']['train_rows']:,} training rows)",
             _fmt(comparison["gbm"]["auc"], "ratio"), f"{comparison['gbm']['brier']:.4f}"]]))
    return tables


def render_markdown(report: Mapping) -> str:
    card = report["card"]
    out = ["# Emergency admission risk model: model card", ""]
    if card.get("synthetic"):
        out += ["> **SYNTHETIC DATA.** Trained and evaluated on simulated people; not real patients.", ""]
    out += ["## Intended use", "", card["intended_use"], "", f"**Not for:** {card['not_for']}", "",
            "## Data", "", card["data"], "", "## Limits", "", *[f"- {limit}" for limit in card["limits"]], ""]
    for title, header, rows in _tables(report):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        out.append("")
    if report.get("comparison"):
        out += [report["comparison"]["note"].capitalize() + ".", ""]
    return "\n".join(out)


def render_html(report: Mapping, figures: Sequence[str] = ()) -> str:
    """A page of the card and its tables; `figures` are html fragments placed after the limits (for
    a self-contained page, the first fragment inlines the charting script and no fragment loads a script)."""
    esc = html.escape
    card = report["card"]
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<title>Emergency admission risk model: model card</title><style>",
             "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#212b32;"
             "max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}"
             "th,td{border:1px solid #d8dde0;padding:4px 8px;text-align:left}th{background:#f0f4f5}"
             ".synthetic{background:#fff3cd;border:2px solid #e69f00;padding:0.6em 1em;font-weight:bold}"
             ".flag{color:#b35c00;font-weight:bold}</style></head><body>",
             "<h1>Emergency admission risk model: model card</h1>"]
    if card.get("synthetic"):
        parts.append("<p class='synthetic'>SYNTHETIC DATA: trained and evaluated on simulated people; "
                     "not real patients.</p>")
    parts += [f"<h2>Intended use</h2><p>{esc(card['intended_use'])}</p>",
              f"<p><strong>Not for:</strong> {esc(card['not_for'])}</p>",
              f"<h2>Data</h2><p>{esc(card['data'])}</p><h2>Limits</h2><ul>",
              *[f"<li>{esc(limit)}</li>" for limit in card["limits"]], "</ul>"]
    parts.extend(figures)
    for title, header, rows in _tables(report):
        parts.append(f"<h2>{esc(title)}</h2><table><thead><tr>"
                     + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td class='flag'>{esc(c)}</td>" if c == "FLAG" else f"<td>{esc(c)}</td>"
                                          for c in row) + "</tr>")
        parts.append("</tbody></table>")
    if report.get("comparison"):
        parts.append(f"<p>{esc(report['comparison']['note'].capitalize())}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_card(report: Mapping, fmt: str = "json", *, figures: Sequence[str] = ()) -> str:
    """The report as json, md or html (`figures`: html fragments for the html page, see render_html)."""
    if fmt == "json":
        return json.dumps(json_safe(report), indent=2, allow_nan=False)
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report, figures)
    raise RiskModelError(f"report format must be json, md or html, got {fmt!r}")
