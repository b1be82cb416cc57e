"""Where the data is weakest (issue 17, point 4): registered versus resident population per area,
from the bundle's GP registrations and Census 2021, through the disclosure rule. The record gaps
(ethnic group not recorded, plans missing key items) are metrics of the engine's catalogue.
Care-plan coverage per registered population (plans per 1,000 GP-registered patients living in
the area) is computed here from the released plan count. Pure pandas/numpy."""

from explorer.domain.gaps._coverage import (
    PER,
    REGISTERED_COVERAGE,
    coverage_per_registered,
)
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

__all__ = ["PER", "QUINTILES", "RATIO", "REGISTERED", "REGISTERED_COVERAGE", "RESIDENTS", "SPECS",
           "control_registration", "coverage_per_registered", "lsoa_registrations", "registration_by_area",
           "registration_by_quintile"]
