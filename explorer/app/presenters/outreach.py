"""Which areas an outreach team with a given capacity should start with: `target_areas` (and the
ranking names) now live in explorer.services.app_analyses (exports use them too); re-exported here
for the page."""

from explorer.services.app_analyses import RANK_NAMES, target_areas

__all__ = ["RANK_NAMES", "target_areas"]
