"""A board pack as data: slides of titles, sentences, native tables and pictures with alt text.

The content is decided once (``_content``) and laid out twice, as PPTX (``_pptx``) and as PDF
(``_pdf``), so the two formats cannot drift apart. The page geometry both use is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from explorer.export.notes import ExportNotes

# 16:9 slide / page, inches (PowerPoint's "Widescreen")
PAGE_W, PAGE_H = 13.333, 7.5
MARGIN = 0.45
TITLE_TOP, TITLE_H = 0.3, 0.75
BODY_TOP = 1.45
FOOT_H = 0.5  # footnote band at the bottom of every slide/page
BODY_H = PAGE_H - BODY_TOP - FOOT_H - 0.15
PICTURE_W = 8.4  # chart on the left, sentences on the right
TEXT_LEFT = MARGIN + PICTURE_W + 0.25
TEXT_W = PAGE_W - TEXT_LEFT - MARGIN
PICTURE_PX = (1050, 700)  # CSS px the charts are rendered at (scale 2 for print)

LONG_TITLE = 44  # characters: longer slide titles get a smaller font so they stay on one line

NHS_BLUE = "005EB8"
DARK = "212B32"
MUTED = "4C6272"
SYNTHETIC_PURPLE = "5C2D91"


@dataclass(frozen=True)
class Picture:
    """A chart rendered to PNG, with the alternative text a screen reader reads."""

    png: bytes
    alt_text: str
    width_px: int
    height_px: int


@dataclass(frozen=True)
class Slide:
    title: str
    subtitle: str = ""
    bullets: tuple[str, ...] = ()
    table: pd.DataFrame | None = None  # display text, one row per line, already controlled
    picture: Picture | None = None
    kind: str = "content"  # "title" for the opening slide


@dataclass(frozen=True)
class Pack:
    area_code: str
    area_name: str
    level: str
    role: str
    notes: ExportNotes
    slides: tuple[Slide, ...] = field(default_factory=tuple)

    @property
    def titles(self) -> list[str]:
        return [s.title for s in self.slides]
