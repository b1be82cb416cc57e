"""Services: the I/O and orchestration that join the layers.

They read the bundle and the records, build the domain's objects from them and write results:
the layer the app, the CLI and the exports call, so that ``explorer.domain`` stays pure.

Public names: :func:`load_engine` (the metrics engine of a region), :func:`train_region` (fit,
score and report the risk model of a region). Modules imported on demand: ``build`` (a region's
bundle, ``build_region``), ``reports`` (the tables of ``explorer summary`` and ``inequality``),
``cells`` (cell tables made by any engine and stored, ``StoredCells``) and ``release_set`` (a role's
released tables and the ``ReleasedEngine`` the app runs on them).
"""

from explorer.services.engine import load_engine
from explorer.services.models import train_region

__all__ = ["load_engine", "train_region"]
