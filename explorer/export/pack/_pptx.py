"""A board pack as an editable 16:9 PowerPoint deck (python-pptx).

Titles are the slides' title placeholders (so PowerPoint's outline, accessibility checker and
screen readers find them); sentences are native text boxes and the key numbers a native table, so
an analyst can edit any of them; charts are pictures, each with its alternative text in the
picture's ``descr`` (what PowerPoint shows under "Alt Text"). Every slide carries the SYNTHETIC
mark (when demo data are used) and the sources footnote.
"""

from __future__ import annotations

import io

import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.util import Inches, Pt

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

TITLE_ONLY = 5  # the default template's "Title Only" layout
FONT = "Arial"


def _cell(cell, text: str, size: float, colour: str, bold: bool) -> None:
    cell.text = text
    para = cell.text_frame.paragraphs[0]
    _style(para.runs[0] if para.runs else para.add_run(), size, colour, bold)


def _style(run, size: float, colour: str = DARK, bold: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = RGBColor.from_string(colour)


def _textbox(slide, left: float, top: float, width: float, height: float, lines: list[str], size: float,
             colour: str = DARK, *, bold: bool = False, gap: float = 0):
    box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE  # shrink text on overflow, as PowerPoint's "Shrink text"
    for i, line in enumerate(lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.space_after = Pt(gap)
        _style(para.add_run(), size, colour, bold)
        para.runs[0].text = line
    return box


def _title(slide, text: str, size: float = 28) -> None:
    shape = slide.shapes.title
    shape.left, shape.top = Inches(MARGIN), Inches(TITLE_TOP)
    shape.width, shape.height = Inches(PAGE_W - 2 * MARGIN - 1.9), Inches(TITLE_H)
    frame = shape.text_frame
    frame.word_wrap = True
    frame.text = text
    para = frame.paragraphs[0]
    para.alignment = 1  # left
    _style(para.runs[0], size, NHS_BLUE, True)


def _chrome(slide, pack: Pack, number: int) -> None:
    """SYNTHETIC mark, footnote and slide number: on every slide."""
    if pack.notes.synthetic:
        _textbox(slide, PAGE_W - MARGIN - 1.9, TITLE_TOP + 0.05, 1.9, 0.4, [SYNTHETIC_MARK], 12, SYNTHETIC_PURPLE,
                 bold=True)
    _textbox(slide, MARGIN, PAGE_H - FOOT_H - 0.05, PAGE_W - 2 * MARGIN - 0.5, FOOT_H, [pack.notes.footnote], 7.5,
             MUTED)
    _textbox(slide, PAGE_W - MARGIN - 0.4, PAGE_H - FOOT_H - 0.05, 0.4, 0.3, [str(number)], 9, MUTED)


def _table(slide, frame: pd.DataFrame, top: float, height: float) -> None:
    rows, cols = frame.shape[0] + 1, frame.shape[1]
    shape = slide.shapes.add_table(rows, cols, Inches(MARGIN), Inches(top), Inches(PAGE_W - 2 * MARGIN),
                                   Inches(min(height, 0.36 * rows)))
    table = shape.table
    first = 3.4
    table.columns[0].width = Inches(first)
    for j in range(1, cols):
        table.columns[j].width = Inches((PAGE_W - 2 * MARGIN - first) / (cols - 1))
    for j, name in enumerate(frame.columns):
        _cell(table.cell(0, j), str(name), 10, "FFFFFF", True)
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            _cell(table.cell(i, j), str(value), 10, DARK, j == 0)


def _picture(slide, png: bytes, alt: str, height: float) -> None:
    pic = slide.shapes.add_picture(io.BytesIO(png), Inches(MARGIN), Inches(BODY_TOP), width=Inches(PICTURE_W))
    if pic.height > Inches(height):  # keep the aspect ratio, fit the body
        ratio = Inches(height) / pic.height
        pic.height, pic.width = Inches(height), int(pic.width * ratio)
    c_nv_pr = pic._element.nvPicPr.cNvPr
    c_nv_pr.set("descr", alt)
    c_nv_pr.set("title", alt[:120])


def _add_slide(prs: Presentation, pack: Pack, slide_def: Slide, number: int) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    if slide_def.kind == "title":
        _title(slide, slide_def.title, 34)
        slide.shapes.title.top = Inches(1.6)
        slide.shapes.title.height = Inches(1.2)
        _textbox(slide, MARGIN, 2.8, PAGE_W - 2 * MARGIN, 0.5, [slide_def.subtitle], 16, MUTED)
        _textbox(slide, MARGIN, 3.5, PAGE_W - 2 * MARGIN, 3.0, list(slide_def.bullets), 15, DARK, gap=8)
    else:
        _title(slide, slide_def.title, 28 if len(slide_def.title) <= LONG_TITLE else 22)
        _textbox(slide, MARGIN, TITLE_TOP + TITLE_H - 0.05, PAGE_W - 2 * MARGIN, 0.45, [slide_def.subtitle], 10,
                 MUTED)
        if slide_def.table is not None:
            _table(slide, slide_def.table, BODY_TOP + 0.15, BODY_H - 1.3)
            _textbox(slide, MARGIN, PAGE_H - FOOT_H - 1.25, PAGE_W - 2 * MARGIN, 1.1, list(slide_def.bullets), 13,
                     DARK, gap=4)
        elif slide_def.picture is not None:
            _picture(slide, slide_def.picture.png, slide_def.picture.alt_text, BODY_H)
            lines = [*slide_def.bullets, f"Chart: {slide_def.picture.alt_text}"]
            box = _textbox(slide, TEXT_LEFT, BODY_TOP + 0.1, TEXT_W, BODY_H, lines, 14, DARK, gap=10)
            last = box.text_frame.paragraphs[-1].runs[0]
            _style(last, 10, MUTED)
        else:
            size = 10 if slide_def.kind == "methods" else 14
            _textbox(slide, MARGIN, BODY_TOP + 0.1, PAGE_W - 2 * MARGIN, BODY_H, list(slide_def.bullets), size, DARK,
                     gap=6)
    _chrome(slide, pack, number)
    slide.notes_slide.notes_text_frame.text = pack.notes.footnote


def pack_pptx(pack: Pack) -> bytes:
    """The deck as .pptx bytes."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(PAGE_W), Inches(PAGE_H)
    prs.core_properties.title = pack.notes.title
    prs.core_properties.subject = ("SYNTHETIC DATA - " if pack.notes.synthetic else "") + "Population Health Explorer"
    prs.core_properties.author = "Population Health Explorer"
    for number, slide_def in enumerate(pack.slides, start=1):
        _add_slide(prs, pack, slide_def, number)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
