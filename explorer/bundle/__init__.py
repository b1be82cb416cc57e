"""The processed bundle of a region: LSOAs with deprivation and population, areas per level, PCN
catchments and boundaries, built atomically from the official sources (``build``) and loaded
read-only at start (``store.load_bundle``). The GP files come in as an input; choosing synthetic ones
when the official files are absent is ``explorer.services.build``'s job.
"""
