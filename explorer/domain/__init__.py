"""Pure functions and value objects: no files, no stores, no Dash, plotly or engines (import
contract in pyproject.toml). ``geography`` (levels and area summaries), ``stats/`` (OHID statistics,
one family per module), ``metrics/`` (catalogue, filters, cells, computations), ``coverage/`` (the
metrics engine over an injected cell source), ``risk/`` (the admission-risk model and its card),
``disclosure/`` (the disclosure policy), ``release`` (a role's tables), ``access`` (roles),
``spc/`` (Making Data Count XmR charts and icons), ``whatif/`` (the outreach what-if and equity audit).
"""
