"""A board pack as a 16:9 PDF with the same content as the deck (ReportLab).

ReportLab is used because it is a long-maintained (since 2000), BSD-licensed, pure-Python PDF
writer with wheels everywhere: no browser, LibreOffice or system libraries to convert the PPTX,
so the PDF is made offline in well under a second. It embeds the charts' PNGs losslessly and the
TrueType font (Liberation Sans, metric-compatible with Arial, from the Debian package
fonts-liberation, falling back to the built-in Helvetica), and its text stays real text, so
`pdftotext` and screen readers read the titles, sentences, tables and each chart's description.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Frame, KeepInFrame, Paragraph, Table, TableStyle

from explorer.export.pack._model import (
    BODY_H,
    BODY_TOP,
    DARK,
    FOOT_H,
    LONG_TITLE,
    MARGIN,
    MUTED,
    NHS_BLUE,
    PAGE_H,
    PAGE_W,
    PICTURE_W,
    SYNTHETIC_PURPLE,
    TEXT_LEFT,
    TEXT_W,
    TITLE_H,
    TITLE_TOP,
    Pack,
    Slide,
)
from explorer.figures.theme import SYNTHETIC_MARK

PT = 72.0  # points per inch
FONT_FILES = {"PackSans": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
              "PackSans-Bold": "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"}


def _fonts() -> tuple[str, str]:
    """Liberation Sans when installed (embedded), else Helvetica."""
    if all(Path(p).is_file() for p in FONT_FILES.values()):
        for name, path in FONT_FILES.items():
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, path))
        return "PackSans", "PackSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _hex(colour: str) -> colors.Color:
    return colors.HexColor("#" + colour)


def _y(top_in: float, height_in: float = 0) -> float:
    """ReportLab's y (from the bottom, points) of a box `top_in` inches from the top."""
    return (PAGE_H - top_in - height_in) * PT


def _paras(c: canvas.Canvas, lines: list[str], left: float, top: float, width: float, height: float,
           style: ParagraphStyle) -> None:
    frame = Frame(left * PT, _y(top, height), width * PT, height * PT, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, showBoundary=0)
    # shrink to fit rather than drop what does not fit (a Frame silently leaves out the overflow)
    content = KeepInFrame(width * PT, height * PT, [Paragraph(escape(line), style) for line in lines], mode="shrink")
    frame.addFromList([content], c)


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=regular, fontSize=14, leading=18, textColor=_hex(DARK), spaceAfter=10)
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=26, leading=30, textColor=_hex(NHS_BLUE)),
        "title_long": ParagraphStyle("title_long", fontName=bold, fontSize=21, leading=25, textColor=_hex(NHS_BLUE)),
        "big": ParagraphStyle("big", fontName=bold, fontSize=32, leading=38, textColor=_hex(NHS_BLUE)),
        "sub": ParagraphStyle("sub", fontName=regular, fontSize=10, leading=12, textColor=_hex(MUTED)),
        "subbig": ParagraphStyle("subbig", parent=base, fontSize=16, leading=20, textColor=_hex(MUTED)),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=10.5, leading=13, spaceAfter=5),
        "muted": ParagraphStyle("muted", parent=base, fontSize=10, leading=12.5, textColor=_hex(MUTED)),
        "foot": ParagraphStyle("foot", fontName=regular, fontSize=7.5, leading=9, textColor=_hex(MUTED)),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=10, leading=12, textColor=_hex(DARK)),
        "head": ParagraphStyle("head", fontName=bold, fontSize=10, leading=12, textColor=colors.white),
    }


def _chrome(c: canvas.Canvas, pack: Pack, number: int, st: dict, bold: str) -> None:
    if pack.notes.synthetic:
        c.setFillColor(_hex(SYNTHETIC_PURPLE))
        c.setFont(bold, 12)
        c.drawRightString((PAGE_W - MARGIN) * PT, _y(TITLE_TOP + 0.3), SYNTHETIC_MARK)
    _paras(c, [pack.notes.footnote], MARGIN, PAGE_H - FOOT_H - 0.05, PAGE_W - 2 * MARGIN - 0.5, FOOT_H, st["foot"])
    c.setFillColor(_hex(MUTED))
    c.setFont(bold, 9)
    c.drawRightString((PAGE_W - MARGIN) * PT, _y(PAGE_H - FOOT_H + 0.15), str(number))


def _table(c: canvas.Canvas, slide: Slide, st: dict) -> float:
    frame = slide.table
    head = [Paragraph(escape(str(h)), st["head"]) for h in frame.columns]
    body = [[Paragraph(escape(str(v)), st["cell"]) for v in row] for row in frame.itertuples(index=False)]
    first = 3.4
    widths = [first * PT] + [(PAGE_W - 2 * MARGIN - first) / (len(frame.columns) - 1) * PT] * (len(frame.columns) - 1)
    table = Table([head, *body], colWidths=widths)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), _hex(NHS_BLUE)),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#E8EDEE")]),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#AEB7BD")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    _, height = table.wrapOn(c, (PAGE_W - 2 * MARGIN) * PT, BODY_H * PT)
    table.drawOn(c, MARGIN * PT, _y(BODY_TOP + 0.15) - height)
    return height / PT


def _page(c: canvas.Canvas, pack: Pack, slide: Slide, number: int, st: dict, bold: str) -> None:
    if slide.kind == "title":
        _paras(c, [slide.title], MARGIN, 1.6, PAGE_W - 2 * MARGIN, 1.2, st["big"])
        _paras(c, [slide.subtitle], MARGIN, 2.8, PAGE_W - 2 * MARGIN, 0.6, st["subbig"])
        _paras(c, list(slide.bullets), MARGIN, 3.5, PAGE_W - 2 * MARGIN, 3.0, st["body"])
    else:
        style = st["title"] if len(slide.title) <= LONG_TITLE else st["title_long"]
        _paras(c, [slide.title], MARGIN, TITLE_TOP + 0.1, PAGE_W - 2 * MARGIN - 1.9, TITLE_H, style)
        _paras(c, [slide.subtitle], MARGIN, TITLE_TOP + TITLE_H + 0.02, PAGE_W - 2 * MARGIN, 0.4, st["sub"])
        if slide.table is not None:
            _table(c, slide, st)
            _paras(c, list(slide.bullets), MARGIN, PAGE_H - FOOT_H - 1.25, PAGE_W - 2 * MARGIN, 1.1, st["body"])
        elif slide.picture is not None:
            pic = slide.picture
            height = min(BODY_H, PICTURE_W * pic.height_px / pic.width_px)
            width = height * pic.width_px / pic.height_px
            c.drawImage(ImageReader(io.BytesIO(pic.png)), MARGIN * PT, _y(BODY_TOP, height), width * PT, height * PT)
            _paras(c, list(slide.bullets), TEXT_LEFT, BODY_TOP + 0.1, TEXT_W, BODY_H - 1.9, st["body"])
            _paras(c, [f"Chart: {pic.alt_text}"], TEXT_LEFT, BODY_TOP + BODY_H - 1.8, TEXT_W, 1.8, st["muted"])
        else:
            style = st["small"] if slide.kind == "methods" else st["body"]
            _paras(c, list(slide.bullets), MARGIN, BODY_TOP + 0.1, PAGE_W - 2 * MARGIN, BODY_H, style)
    _chrome(c, pack, number, st, bold)


def pack_pdf(pack: Pack) -> bytes:
    """The pack as PDF bytes: one 16:9 page per slide."""
    regular, bold = _fonts()
    st = _styles(regular, bold)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(PAGE_W * PT, PAGE_H * PT), pageCompression=1)
    c.setTitle(pack.notes.title)
    c.setAuthor("Population Health Explorer")
    c.setSubject(("SYNTHETIC DATA - " if pack.notes.synthetic else "") + "board pack")
    for number, slide in enumerate(pack.slides, start=1):
        _page(c, pack, slide, number, st, bold)
        c.showPage()
    c.save()
    return out.getvalue()
