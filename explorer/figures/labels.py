"""Data-derived text made inert before it goes into a plotly figure.

plotly renders a subset of HTML in titles, hover text, tick labels, legend names and annotations
(``<a href>``, ``<b>``, ``<br>``...). Area, practice and group names come from imported files, so a
name like ``<a href="http://x">evil</a>`` would become a live link in every chart. Every figure
builder passes such text through :func:`escape_label`; markup the code adds itself (``<br>``,
``<b>`` in hover templates) is added after escaping and still renders. plotly decodes ``&lt;``,
``&gt;`` and ``&amp;`` back to the characters, so ordinary names ("Barking & Dagenham") look the same.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

__all__ = ["escape_label", "escape_labels"]


def escape_label(text: Any) -> str:
    """``text`` as a string with ``&``, ``<`` and ``>`` escaped (quotes are harmless in plotly text)."""
    return html.escape(str(text), quote=False)


def escape_labels(values: Iterable[Any]) -> list[str]:
    """:func:`escape_label` for each value (tick labels, hover names, categories)."""
    return [escape_label(v) for v in values]
