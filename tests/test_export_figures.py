"""Figure exports (explorer.export): what is written is opened and read back.

SVG parsed (one <path> per area on maps), PDF read as text (pdftotext) and as an image (pdftoppm),
PNG at print size; the SYNTHETIC mark and the sources footnote in every format; no count of 1-7
in any figure or table exported for a non-analyst role; the CLI's refusals leave no file; the app's
download buttons answer with the same export, refuse what the role may not see, and are audited.
One warm renderer serves the whole module (a few figures per format, not every combination).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from tool_support import needs_tool

from explorer.domain.access import AccessDenied
from explorer.domain.metrics import Filters
from explorer.export import (
    FIGURE_KINDS,
    ExportError,
    ExportRequest,
    build_item,
    render,
    write_export,
)
from explorer.figures import theme

REPO = Path(__file__).resolve().parents[1]
SVG_NS = "{http://www.w3.org/2000/svg}"
SMALL = Filters(age_band=("85+",), ethnic_group=("other",))  # many cells of 1-7 people before control
NON_ANALYST = ("commissioner", "strategist", "social_care")
COUNT_COLUMNS = re.compile(r"^(numerator|count|people|population|high_risk|high_risk_without_plan|gap|n|observed)$")


def svg_texts(svg: bytes) -> list[tuple[str, str]]:
    """(class, text) of every <text> in an SVG."""
    root = ET.fromstring(svg)
    return [(el.get("class") or "", "".join(el.itertext())) for el in root.iter(f"{SVG_NS}text")]


def small_counts_in_labels(svg: bytes) -> list[str]:
    """Bar and point labels (the numbers drawn on a chart) that are counts of 1-7."""
    out = []
    for cls, text in svg_texts(svg):
        if "bartext" in cls or "textpoint" in cls:
            m = re.fullmatch(r"\s*(\d[\d,]*)\s*", text)
            if m and 1 <= int(m.group(1).replace(",", "")) <= 7:
                out.append(text)
    return out


@pytest.fixture(scope="module")
def data(london_app_data):
    yield london_app_data
    from explorer.export import stop_renderer

    stop_renderer()


@pytest.fixture(scope="module")
def place_map(data):
    item = build_item(data, ExportRequest("map", "place", metric="coverage", role="commissioner"))
    return item, render(item.figure, "svg")


def test_map_svg_is_vector_with_one_path_per_area_and_says_synthetic(data, place_map):
    item, svg = place_map
    root = ET.fromstring(svg)
    paths = [p for p in root.iter(f"{SVG_NS}path") if "choroplethlocation" in (p.get("class") or "")]
    assert len(paths) == len(data.geometry["place"].codes) == len(item.table) == 33
    assert not list(root.iter(f"{SVG_NS}image"))  # no embedded bitmap
    text = " ".join(t for _, t in svg_texts(svg))
    assert theme.SYNTHETIC_MARK in text and "Sources (fetched" in text
    assert "Coverage" in item.title or "coverage" in item.title.lower()
    assert "London" in item.subtitle and "As at" in item.subtitle and "Commissioner view" in item.subtitle
    assert "areas)" in text  # the legend lists each class with its number of areas


def test_png_is_print_size_and_pdf_reads_back_as_text_and_image(data, tmp_path):
    needs_tool("pdftotext")
    needs_tool("pdftoppm")
    item = build_item(data, ExportRequest("cascade", "region", role="strategist"))
    png = render(item.figure, "png", width=item.width, height=item.height)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2 * item.width, 2 * item.height)
    pdf = write_export(tmp_path / "cascade.pdf", render(item.figure, "pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "SYNTHETIC DATA" in text and "Sources (fetched" in text and "Care-plan cascade" in text
    assert "Disclosure control" in text and "Made 20" in text
    subprocess.run(["pdftoppm", "-gray", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    raw = (tmp_path / "page.pgm").read_bytes()  # binary PGM: "P5 <w> <h> 255" then one byte per pixel
    magic, w, h, _ = raw.split(maxsplit=4)[:4]
    pixels = np.frombuffer(raw[-int(w) * int(h):], dtype=np.uint8)
    assert magic == b"P5" and int(w) > 400 and (pixels < 128).mean() > 0.005  # a drawn page, not a blank one
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("role", NON_ANALYST)
def test_no_count_of_1_to_7_in_any_figure_or_table_for_non_analysts(data, role):
    """Every figure kind the role may export, with filters that make many raw cells of 1-7 people."""
    from explorer.domain.access import policy_for

    lowest = policy_for(role).levels[-1]
    raw = data.raw_table(lowest, "plans", SMALL, None)
    assert ((raw["plans_numerator"] > 0) & (raw["plans_numerator"] < 8)).sum() > 5  # the sweep is not vacuous
    requests = [ExportRequest("map", lowest, metric="plans", filters=SMALL, role=role),
                ExportRequest("gradient", "region", metric="plans", filters=SMALL, role=role),
                ExportRequest("trend", "region", metric="plans", filters=SMALL, role=role),
                ExportRequest("cascade", "region", filters=SMALL, role=role),
                ExportRequest("inequalities", "region", metric="plans", filters=SMALL, role=role, by="age_band"),
                ExportRequest("funnel", "pcn", metric="coverage", filters=SMALL, role=role),
                ExportRequest("population", "region", role=role, by="ethnic_group"),
                ExportRequest("spine", "pcn", area=str(data.geometry["pcn"].codes[0]), filters=SMALL, role=role),
                ExportRequest("compare", lowest, metric="plans", filters=SMALL, role=role,
                              area=str(data.geometry["ics"].codes[0]))]
    if role == "commissioner":
        requests.append(ExportRequest("outreach", "pcn", filters=SMALL, role=role))
    checked = 0
    kinds = set()
    for request in requests:
        item = build_item(data, request)
        kinds.add(request.kind)
        for column in item.table.columns:
            if COUNT_COLUMNS.match(str(column)):
                values = np.asarray(item.table[column], dtype=float)
                values = values[np.isfinite(values)]
                checked += values.size
                assert not ((values >= 1) & (values < 8)).any(), (role, request.kind, column)
        if request.kind == "funnel":  # every area listed, as the other tables, the suppressed ones flagged
            assert item.table["suppressed"].dtype == bool and item.table["suppressed"].any()
            assert len(item.table) == len(data.geometry["pcn"].codes) and item.table["area_code"].is_unique
            assert item.table.loc[item.table["suppressed"], "value"].isna().all()
        if request.kind in ("cascade", "outreach"):  # counts drawn as bar labels: read them in the SVG
            assert small_counts_in_labels(render(item.figure, "svg")) == []
    assert kinds >= {"map", "gradient", "trend", "cascade", "inequalities", "funnel", "population", "spine", "compare"}
    assert checked > 50


def test_the_label_detector_finds_small_counts():
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg"><text class="bartext bartext-outside">5</text>'
           b'<text class="bartext">1,230</text><text class="xtick">3</text></svg>')
    assert small_counts_in_labels(svg) == ["5"]


def test_requests_beyond_the_role_or_unknown_are_refused_clearly(data):
    with pytest.raises(AccessDenied, match="LSOA"):
        build_item(data, ExportRequest("map", "lsoa", role="strategist"))
    with pytest.raises(AccessDenied):
        build_item(data, ExportRequest("outreach", "pcn", role="strategist"))
    with pytest.raises(AccessDenied):
        build_item(data, ExportRequest("calibration", "region", role="commissioner"))
    with pytest.raises(AccessDenied):
        build_item(data, ExportRequest("map", "pcn", metric="completeness", role="social_care"))
    for request, message in [
        (ExportRequest("map", "pcn", area="E54999999"), "unknown area"),
        (ExportRequest("map", "ics", area=data.geometry["pcn"].codes[0]), "holds no ICS"),
        (ExportRequest("map", "pcn", filters=["frailty=very"]), "bad filter"),
        (ExportRequest("map", "pcn", metric="nonsense"), "unknown metric"),
        (ExportRequest("pie", "pcn"), "unknown figure"),
        (ExportRequest("inequalities", "region", by="shoe_size"), "unknown grouping"),
    ]:
        with pytest.raises(ExportError, match=message):
            build_item(data, request)
    assert set(FIGURE_KINDS) == {"map", "gradient", "cascade", "trend", "inequalities", "funnel", "outreach",
                                 "population", "calibration", "spine", "compare"}
    with pytest.raises(ExportError, match="one area"):
        build_item(data, ExportRequest("spine", "region"))


def test_outreach_export_uses_the_capacity_and_ranking_asked_for(data):
    from explorer.app import exports

    default = build_item(data, ExportRequest("outreach", "pcn"))
    none = build_item(data, ExportRequest("outreach", "pcn", capacity=0))
    wide = build_item(data, ExportRequest("outreach", "pcn", capacity="50000", rank_by="gap"))
    assert none.table["targeted"].sum() == 0 < default.table["targeted"].sum() < wide.table["targeted"].sum()
    assert wide.table.attrs["capacity"] == 50_000 and "50,000 planning conversations" in wide.footnote
    assert "gap count" in wide.title and list(wide.table["area_code"]) != list(default.table["area_code"])
    for capacity, rank_by, message in [(-1, None, "between 0 and"), ("12.5", None, "whole number"),
                                       (10**9, None, "between 0 and"), (True, None, "whole number"),
                                       (None, "shoe_size", "unknown ranking")]:
        with pytest.raises(ExportError, match=message):
            build_item(data, ExportRequest("outreach", "pcn", capacity=capacity, rank_by=rank_by))
    with pytest.raises(ExportError, match="no capacity"):
        build_item(data, ExportRequest("map", "pcn", capacity=100))
    # the outreach page's download menu carries the page's capacity and ranking to the export
    stored = exports.request_data("outreach", "pcn", capacity=250, rank_by="gap")
    request = exports.parse_request(stored, "commissioner")
    assert (request.capacity, request.rank_by) == ("250", "gap")


def test_gradient_by_quintile_says_quintile_and_gives_the_sii_in_percentage_points(data):
    item = build_item(data, ExportRequest("gradient", "region", metric="reviewed_in_period", by="imd_quintile"))
    assert "quintile" in item.alt_text and "decile" not in item.alt_text and "pp" in item.alt_text
    sii_names = [t.name for t in item.figure.data if t.mode == "lines"]
    assert sii_names and all(n.endswith(" percentage points") for n in sii_names)
    assert "percentage points: least minus most deprived" in item.footnote


def _box(group) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a legend or annotation <g>: its translate plus its background rect."""
    moved = group if "translate" in (group.get("transform") or "") else next(
        g for g in group.iter(f"{SVG_NS}g") if "translate" in (g.get("transform") or ""))
    x, y = map(float, re.search(r"translate\(([-\d.]+),\s*([-\d.]+)\)", moved.get("transform")).groups())
    rect = next(r for r in moved.iter(f"{SVG_NS}rect") if "bg" in (r.get("class") or ""))
    return x, y, x + float(rect.get("width")), y + float(rect.get("height"))


def test_legend_above_the_plot_sits_above_the_comparator_label(data):
    """With a suppressed group (a legend key) and a comparator line, the legend gets its own row."""
    filters = ["ethnic_group=other", "sex=female"]
    item = build_item(data, ExportRequest("inequalities", "region", metric="reviewed_in_period", filters=filters,
                                          by="age_band"))
    assert item.table["suppressed"].any()  # so the legend is drawn
    root = ET.fromstring(render(item.figure, "svg"))
    legend = _box(next(g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "legend"))
    labels = [_box(g) for g in root.iter(f"{SVG_NS}g") if g.get("class") == "annotation"
              and data.region_name in "".join(g.itertext()) and "Sources" not in "".join(g.itertext())]
    assert labels  # the comparator's label, "London 68.4%"
    assert all(legend[3] <= label[1] for label in labels)  # the legend's bottom above each label's top


def test_cli_exports_a_figure_and_refuses_bad_requests_without_leaving_a_file(cli_env, london_model, tmp_path,
                                                                             monkeypatch):
    from typer.testing import CliRunner

    from explorer.cli import app

    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    runner = CliRunner()
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "map.svg"
    base = ["export", "figure", "--figure", "map", "--format", "svg"]
    # the successful export in a process of its own, as a user runs it: its exit is checked too (Chromium
    # stopped and its profile folder removed without a traceback)
    # (the default temp directory: Chromium's socket path in a deep pytest folder would be too long)
    profiles = set(Path(tempfile.gettempdir()).glob("explorer-chromium-*"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run([sys.executable, "-m", "explorer", *base, "--level", "ics", "--metric", "coverage",
                         "--out", str(out)], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "Traceback" not in ok.stderr and "OSError" not in ok.stderr, ok.stderr[-2000:]
    assert set(Path(tempfile.gettempdir()).glob("explorer-chromium-*")) <= profiles  # its profile removed at exit
    assert out.read_bytes().count(b"choroplethlocation") == 5
    audit = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert audit[-1]["what"] == "figure_map" and audit[-1]["user"].startswith("cli:") and audit[-1]["format"] == "svg"
    cases = [
        ([*base, "--level", "pcn", "--area", "E54999999", "--out", str(folder / "a.svg")], 2, "unknown area"),
        ([*base, "--level", "lsoa", "--role", "strategist", "--out", str(folder / "b.svg")], 3, "may not see"),
        ([*base, "--level", "pcn", "--filter", "age_band=200+", "--out", str(folder / "c.svg")], 2, "age_band"),
        ([*base, "--level", "pcn", "--out", str(folder / "no" / "such" / "d.svg")], 2, "does not exist"),
    ]
    for args, code, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["map.svg"]


def test_app_download_button_returns_the_export_and_refuses_a_forged_level(settings, london_app_data, tmp_path,
                                                                         monkeypatch):
    import base64

    from explorer.app import exports, ids
    from explorer.app.factory import create_app

    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    app = create_app(settings, "london", data=london_app_data, warm=False, demo_role="strategist")
    client = app.server.test_client()
    layout = client.get("/_dash-dependencies").get_json()
    dep = next(d for d in layout if ids.EXPORT_DOWNLOAD in d["output"])

    def post(stored: dict, fmt: str = "svg"):
        index = "ineq-sex"
        buttons = [{"id": {"type": ids.EXPORT_BUTTON, "index": index, "fmt": f}, "property": "n_clicks",
                    "value": int(f == fmt)} for f in ("png", "svg", "pdf")]
        changed = json.dumps({"fmt": fmt, "index": index, "type": ids.EXPORT_BUTTON}, separators=(",", ":"))
        body = {"output": dep["output"], "outputs": {"id": {"type": ids.EXPORT_DOWNLOAD, "index": index},
                                                     "property": "data"},
                "inputs": [buttons], "state": [{"id": {"type": ids.EXPORT_REQUEST, "index": index},
                                                "property": "data", "value": stored}],
                "changedPropIds": [changed + ".n_clicks"]}
        return client.post("/_dash-update-component", json=body)

    ok = post(exports.request_data("inequalities", "region", metric="coverage", by="sex"))
    assert ok.status_code == 200, ok.get_data(as_text=True)[:300]
    sent = next(iter(ok.get_json()["response"].values()))["data"]
    svg = base64.b64decode(sent["content"])
    assert sent["filename"].endswith(".svg") and b"SYNTHETIC DATA" in svg and b"Strategist view" in svg
    assert post(exports.request_data("map", "lsoa", metric="coverage")).status_code == 403
    assert post({**exports.request_data("map", "pcn"), "area": "E54999999"}).status_code == 400
    assert post({"kind": "map", "level": "pcn", "role": "analyst"}).status_code == 400  # no role from the browser
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    assert [x["what"] for x in lines if x["event"] == "export"] == ["figure_inequalities"]
    assert lines[-1]["role"] == "strategist"
