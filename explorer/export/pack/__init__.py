"""Board packs: an area's key numbers, charts and a plain-English narrative as PPTX or PDF.

:func:`build_pack` decides the slides (``_content``: charts from the figure export, sentences from
:mod:`explorer.domain.narrative`), :func:`pack_bytes` lays them out as an editable 16:9 deck
(``_pptx``) or a PDF with the same content (``_pdf``).
"""

from __future__ import annotations

from explorer.export.pack._content import (
    KEY_METRICS,
    PACK_LEVELS,
    build_pack,
    check_pack,
    key_numbers,
)
from explorer.export.pack._model import Pack, Picture, Slide
from explorer.export.pack._pdf import pack_pdf
from explorer.export.pack._pptx import pack_pptx

__all__ = ["KEY_METRICS", "PACK_FORMATS", "PACK_LEVELS", "Pack", "Picture", "Slide", "build_pack", "check_pack",
           "key_numbers", "pack_bytes", "pack_filename"]

PACK_FORMATS = ("pptx", "pdf")


def pack_bytes(pack: Pack, fmt: str) -> bytes:
    """The pack laid out as `fmt` (pptx or pdf)."""
    if fmt == "pptx":
        return pack_pptx(pack)
    if fmt == "pdf":
        return pack_pdf(pack)
    raise ValueError(f"unknown pack format {fmt!r}: choose one of {', '.join(PACK_FORMATS)}")


def pack_filename(area: str, fmt: str) -> str:
    """board-pack-<area code>.<fmt>: codes are safe file names (letters and digits)."""
    return f"board-pack-{area}.{fmt}"
