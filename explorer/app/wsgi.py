"""WSGI entry point for gunicorn: `gunicorn 'explorer.app.wsgi:server'`.

Configuration comes from the environment (read once, when each worker imports this module):
EXPLORER_REGION (default london), EXPLORER_DEMO_ROLE (a role name: no sign-in, demo banner),
plus the EXPLORER_DATA_DIR / EXPLORER_CACHE_DIR / EXPLORER_SECRET_KEY the rest of the tool reads.
Each gunicorn worker is its own process with its own read-only copy of the data.
"""

from __future__ import annotations

import os

from explorer.app.factory import create_app
from explorer.config import load_settings

app = create_app(load_settings(), os.environ.get("EXPLORER_REGION", "london"),
                 demo_role=os.environ.get("EXPLORER_DEMO_ROLE") or None)
server = app.server
