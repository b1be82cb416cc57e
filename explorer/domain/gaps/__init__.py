"""Where the data is weakest (issue 17, point 4): registered versus resident population per area,
from the bundle's GP registrations and Census 2021, through the disclosure rule. The record gaps
(ethnic group not recorded, plans missing key items) are metrics of the engine's catalogue.
Pure pandas/numpy."""

from explorer.domain.gaps._registration import (
    QUINTILES,
    RATIO,
    REGISTERED,
    RESIDENTS,
    SPECS,
    control_registration,
    lsoa_registrations,
    registration_by_area,
    registration_by_quintile,
)

__all__ = ["QUINTILES", "RATIO", "REGISTERED", "RESIDENTS", "SPECS", "control_registration", "lsoa_registrations",
           "registration_by_area", "registration_by_quintile"]
