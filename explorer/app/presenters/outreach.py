"""Which areas an outreach team with a given capacity should start with: `target_areas` now lives in
explorer.services.app_analyses (exports use it too); re-exported here for the page."""

from explorer.services.app_analyses import target_areas

__all__ = ["target_areas"]
