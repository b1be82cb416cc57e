"""Board packs read back: the PPTX with python-pptx, the PDF as text (pdftotext) and as images
(pdftoppm); the CLI's refusals leave no file. One pack is built per test session (module fixture)
and laid out once per format."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pptx
import pytest
from pptx.util import Inches
from tool_support import needs_tool
from typer.testing import CliRunner

from explorer.export.pack import build_pack, key_numbers, pack_bytes
from explorer.figures.theme import SYNTHETIC_MARK

pytestmark = pytest.mark.slow
ROLE = "commissioner"


@pytest.fixture(scope="module")
def ics(london_app_data) -> str:
    return london_app_data.geometry["ics"].codes[1]


@pytest.fixture(scope="module")
def pack(london_app_data, ics):
    return build_pack(london_app_data, "ics", ics, ROLE)


@pytest.fixture(scope="module")
def files(pack, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pack")
    paths = {}
    for fmt in ("pptx", "pdf"):
        paths[fmt] = out / f"pack.{fmt}"
        paths[fmt].write_bytes(pack_bytes(pack, fmt))
    return paths


def _slide_texts(slide) -> list[str]:
    texts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            texts.append(shape.text_frame.text)
        if shape.has_table:
            texts += [cell.text for row in shape.table.rows for cell in row.cells]
    return texts


def test_pack_has_every_slide_the_issue_asks_for(pack, london_app_data, ics) -> None:
    titles = pack.titles
    assert titles[0].startswith(london_app_data.name_of(ics))
    for wanted in ("Key numbers", "Deprivation gradient", "Care-plan cascade", "Trend", "Inequalities by ethnic group",
                   "Inequalities by age band", "Inequalities by sex", "Outreach ranking", "Methods and sources"):
        assert wanted in titles
    assert "Map: ICSs of London" in titles  # the map in its parent
    assert sum(s.picture is not None for s in pack.slides) == 8


def test_pptx_reads_back_16_9_titles_alt_text_and_footnotes(files, pack) -> None:
    deck = pptx.Presentation(str(files["pptx"]))
    assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))
    assert len(deck.slides) == len(pack.slides)
    pictures = 0
    for slide, expected in zip(deck.slides, pack.slides, strict=True):
        assert slide.shapes.title.text == expected.title
        text = " ".join(_slide_texts(slide))
        assert SYNTHETIC_MARK in text and "Sources:" in text and "rounded to the nearest 5" in text
        for shape in slide.shapes:
            if shape.shape_type == 13:  # picture
                pictures += 1
                descr = shape._element.nvPicPr.cNvPr.get("descr")
                assert descr and len(descr) > 30
    assert pictures == sum(s.picture is not None for s in pack.slides)
    key = deck.slides[1]
    assert any(shape.has_table for shape in key.shapes)  # native, editable table


def test_pdf_as_text_and_images(files, pack, tmp_path) -> None:
    needs_tool("pdftotext")
    needs_tool("pdftoppm")
    pages = subprocess.run(["pdftotext", "-layout", str(files["pdf"]), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) == len(pack.slides)
    for page, slide in zip(pages, pack.slides, strict=True):
        flat = " ".join(page.split())
        assert " ".join(slide.title.split()[:3]) in flat
        assert SYNTHETIC_MARK in flat and "Sources:" in flat
    assert "Chart:" in pages[3]  # each chart's description is text in the PDF
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "4", "-l", "4", str(files["pdf"]), str(tmp_path / "p")],
                   check=True)
    from PIL import Image

    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    assert image.width > image.height  # landscape 16:9
    assert len(image.getcolors(maxcolors=100_000) or []) > 20  # a chart was drawn, not a blank page


def test_narrative_and_key_numbers_hold_no_small_count(pack, london_app_data) -> None:
    """Counts in the key table are hidden (*), 0, or rounded to 5; narrative counts are >= 10."""
    pcn = london_app_data.geometry["pcn"].codes[0]
    for role in ("commissioner", "strategist", "social_care"):
        table, sentences = key_numbers(london_app_data, pcn, role)
        people = table[table["Measure"].str.contains(r"\((?:people|residents)\)")]
        for value in people.drop(columns=["Measure"]).to_numpy().ravel():
            value = str(value).replace(",", "")
            if value.isdigit():
                assert int(value) == 0 or int(value) >= 8 and int(value) % 5 == 0
    texts = [b for s in pack.slides for b in s.bullets] + [s.picture.alt_text for s in pack.slides if s.picture]
    counts = [int(n.replace(",", "")) for text in texts
              for n in re.findall(r"(?<![\d.,-])(\d[\d,]*)(?![\d.%-])\s+(?:high-risk )?people", text)]
    assert len(counts) > 5 and min(counts) >= 8  # the "1-7 people" rule itself is not a count


def test_roles_without_outreach_or_clinical_content_get_less(london_app_data, ics) -> None:
    social = build_pack(london_app_data, "ics", ics, "social_care", renderer=_tiny_png)
    assert "Outreach ranking" not in social.titles
    key = social.slides[1].table
    assert not key["Measure"].str.contains("completeness", case=False).any()


@pytest.fixture()
def cli(cli_env, london_app_data, monkeypatch):
    """The CLI with the session's loaded data (AppData.load would rebuild the engine each time)."""
    from explorer.cli import app
    from explorer.services.app_data import AppData

    monkeypatch.setattr(AppData, "load", classmethod(lambda cls, *a, **k: london_app_data))
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["export", *args])


def test_cli_refuses_forged_area_role_level_and_unwritable_out(cli, tmp_path, ics) -> None:
    out = tmp_path / "pack.pptx"
    bad = cli("pack", "--level", "ics", "--area", "E54999999", "--format", "pptx", "--out", str(out))
    assert bad.exit_code == 2 and "unknown area" in bad.output and not out.exists()
    wrong = cli("pack", "--level", "place", "--area", ics, "--format", "pptx", "--out", str(out))
    assert wrong.exit_code == 2 and not out.exists()
    lsoa = cli("pack", "--level", "lsoa", "--area", ics, "--format", "pptx", "--out", str(out))
    assert lsoa.exit_code != 0 and not out.exists()
    blocked = tmp_path / "file"
    blocked.write_text("x")
    nowhere = cli("pack", "--level", "ics", "--area", ics, "--format", "pdf", "--out", str(blocked / "p.pdf"))
    assert nowhere.exit_code == 2 and "cannot write" in nowhere.output
    table = cli("table", "--figure", "gradient", "--level", "pcn", "--area", "UZ0001", "--role", "strategist",
                "--filter", "colour=blue", "--format", "csv", "--out", str(tmp_path / "t.csv"))
    assert table.exit_code == 2 and not (tmp_path / "t.csv").exists()
    lsoa_table = cli("table", "--figure", "map", "--level", "lsoa", "--role", "strategist", "--format", "csv",
                     "--out", str(tmp_path / "t.csv"))
    assert lsoa_table.exit_code == 3 and "may not see" in lsoa_table.output and not (tmp_path / "t.csv").exists()


def _tiny_png(figure=None) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_pack_written_atomically_and_audited(cli, tmp_path, ics, monkeypatch, london_app_data) -> None:
    import explorer.export.files as files_module
    from explorer.auth.auditlog import audit_path

    real = files_module.build_pack
    monkeypatch.setattr(files_module, "build_pack", lambda *a, **k: real(*a, **{**k, "renderer": _tiny_png}))
    out = tmp_path / "p.pdf"
    monkeypatch.setattr(Path, "replace", lambda self, target: (_ for _ in ()).throw(OSError("disk full")))
    failed = cli("pack", "--level", "ics", "--area", ics, "--format", "pdf", "--out", str(out))
    assert failed.exit_code == 2 and "cannot write" in failed.output
    assert not list(tmp_path.iterdir())  # neither the file nor its temporary sibling
    monkeypatch.undo()
    monkeypatch.setattr(files_module, "build_pack", lambda *a, **k: real(*a, **{**k, "renderer": _tiny_png}))
    from explorer.services.app_data import AppData

    monkeypatch.setattr(AppData, "load", classmethod(lambda cls, *a, **k: london_app_data))
    two = london_app_data.geometry["ics"].codes[:2]  # the batch path on two areas (each pack is the same code)
    monkeypatch.setattr(files_module, "pack_areas", lambda *a: two)
    ok = cli("pack", "--level", "ics", "--all", "--format", "pptx", "--out", str(tmp_path / "all"))
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(f"board-pack-{c}.pptx" for c in two)
    log = audit_path(london_app_data.settings).read_text()
    assert log.count('"board_pack"') >= 2
    assert str(out) not in log


def test_app_board_pack_button_sends_the_pack_and_refuses_a_forged_view(settings, london_app_data, ics, tmp_path,
                                                                         monkeypatch):
    import base64
    import json

    from explorer.app import board_pack, ids
    from explorer.app.factory import create_app
    from explorer.app.state import ProfileView

    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    real = board_pack.build_pack
    monkeypatch.setattr(board_pack, "build_pack", lambda *a, **k: real(*a, renderer=_tiny_png))
    app = create_app(settings, "london", data=london_app_data, warm=False, demo_role="commissioner")
    client = app.server.test_client()
    dep = next(d for d in client.get("/_dash-dependencies").get_json() if ids.PROFILE_PACK_DOWNLOAD in d["output"])

    def post(stored: dict, fmt: str = "pptx"):
        inputs = [{"id": {"type": ids.PROFILE_PACK_BUTTON, "fmt": f}, "property": "n_clicks", "value": int(f == fmt)}
                  for f in ("pptx", "pdf")]
        changed = json.dumps({"fmt": fmt, "type": ids.PROFILE_PACK_BUTTON}, separators=(",", ":"))
        body = {"output": dep["output"], "outputs": [{"id": ids.PROFILE_PACK_DOWNLOAD, "property": "data"},
                                                     {"id": ids.PROFILE_PACK_STATUS, "property": "children"}],
                "inputs": inputs, "state": [{"id": ids.PROFILE_VIEW, "property": "data", "value": stored}],
                "changedPropIds": [changed + ".n_clicks"]}
        return client.post("/_dash-update-component", json=body)

    view = ProfileView.from_query({"area": ics}, metrics=tuple(london_app_data.metrics),
                                  default_metric=london_app_data.default_metric(),
                                  area_level=london_app_data.area_level).to_query()
    ok = post(view)
    assert ok.status_code == 200, ok.get_data(as_text=True)[:300]
    response = ok.get_json()["response"]
    sent = response[ids.PROFILE_PACK_DOWNLOAD]["data"]
    assert sent["filename"] == f"board-pack-{ics}.pptx"
    deck = pptx.Presentation(io.BytesIO(base64.b64decode(sent["content"])))
    assert SYNTHETIC_MARK in " ".join(_slide_texts(deck.slides[0]))
    assert post({**view, "area": "E54999999"}).status_code in (400, 403)
    region = post({k: v for k, v in view.items() if k != "area"})
    assert "Choose an ICS" in json.dumps(region.get_json())
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    packs = [x for x in lines if x.get("what") == "board_pack"]
    assert len(packs) == 1 and packs[0]["area"] == ics and packs[0]["user"] == "demo:commissioner"
