"""Seeded, documented synthetic data for the demo, written in the layouts real extracts use: GP
practices (``practices``), the cohort (``cohort``), plans (``plans``), reviews and views
(``reviews``), clinician users and logins (``clinicians``), their orchestration (``careplans``),
simulated people for model tests (``simulated``) and the true risk model (``truth``).
"""
