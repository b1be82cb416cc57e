"""Services: the I/O and orchestration that join the layers.

They read the bundle and the records, build the domain's objects from them and write results:
the layer the app, the CLI and the exports call, so that ``explorer.domain`` stays pure.

Public names: :func:`load_engine` (the metrics engine of a region), :func:`train_region` (fit,
score and report the risk model of a region). Modules imported on demand: ``build`` (a region's
bundle, ``build_region``), ``reports`` (the tables of ``explorer summary`` and ``inequality``),
``cells`` (cell tables made by any engine and stored, ``StoredCells``) and ``release_set`` (a role's
released tables and the ``ReleasedEngine`` the app runs on them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.lazy import lazy_exports

if TYPE_CHECKING:
    from explorer.services.engine import load_engine
    from explorer.services.models import train_region

#: public name -> its module, imported on first use (train_region brings scikit-learn: seconds
#: that `explorer summary` and the app's start should not pay)
_EXPORTS = {"load_engine": "engine", "train_region": "models"}

__all__ = ["load_engine", "train_region"]


__getattr__ = lazy_exports(__name__, _EXPORTS)
