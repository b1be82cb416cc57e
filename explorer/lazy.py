"""Package names imported on first use (PEP 562), so that importing a package does not import its
heavy parts: `explorer summary` and the app's start need neither scikit-learn nor plotly's renderer.

A lazily exported name must differ from the name of its submodule: importing the submodule sets the
package attribute of that name to the module, and the module-level ``__getattr__`` is then never
asked (why ``explorer.export.render`` lives in ``renderer.py``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package`: each name in `exports` (name -> submodule) is imported
    from its submodule on first use and kept on the package, so later lookups cost nothing."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
