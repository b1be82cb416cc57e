"""The project's vocabulary, defined once at the bottom of the stack: levels and their labels,
person categories and their labels, regions. Every layer imports these names from here.

Pure constants: this module imports nothing from the project.
"""

from __future__ import annotations

from types import MappingProxyType

# --------------------------------------------------------------------------- geography

LEVELS: tuple[str, ...] = ("ics", "place", "pcn", "lsoa")
"""Area levels, largest first (ICS > place > PCN > LSOA)."""

REGION_LEVEL = "region"
"""The whole region (London or England) as one area; above every level."""

LEVEL_LABELS = MappingProxyType(
    {"ics": "ICS", "place": "Place (local authority)", "pcn": "Primary Care Network", "lsoa": "LSOA"})
"""Full names of the levels, for titles."""

LEVEL_SHORT_LABELS = MappingProxyType({"ics": "ICS", "place": "place", "pcn": "PCN", "lsoa": "LSOA"})
"""Short names beside an area's name ("Hackney (place)") and in messages."""

LEVEL_CONTROL_LABELS = MappingProxyType({"ics": "ICS", "place": "Place", "pcn": "PCN", "lsoa": "LSOA"})
"""Names on controls (radio buttons, menus)."""

REGIONS = MappingProxyType({"london": ("E12000007", "London"), "england": ("E92000001", "England")})
"""Region key -> (ONS code, name)."""

# --------------------------------------------------------------------------- people

SEXES: tuple[str, ...] = ("female", "male")
ETHNIC_GROUPS: tuple[str, ...] = ("asian", "black", "mixed", "white", "other")  # Census 2021 5-category groups
ETHNIC_NOT_STATED = "not_stated"
"""A person whose ethnic group is not recorded (NHS Data Dictionary ETHNIC CATEGORY Z "not stated" or
99 "not known", or blank): accepted on import and counted (the data-gaps view), never a filter group."""
ETHNIC_CODES: tuple[str, ...] = (*ETHNIC_GROUPS, ETHNIC_NOT_STATED)
"""Every value the people layout's ethnic_group may hold."""
ETHNIC_LABELS = MappingProxyType(
    {"asian": "Asian", "black": "Black", "mixed": "Mixed", "white": "White", "other": "Other",
     ETHNIC_NOT_STATED: "Not stated"})
FRAILTY: tuple[str, ...] = ("fit", "mild", "moderate", "severe", "not_assessed")  # eFI; under 65: not_assessed
FRAILTY_LABELS = MappingProxyType({"fit": "Fit", "mild": "Mild", "moderate": "Moderate", "severe": "Severe",
                                   "not_assessed": "Not assessed (under 65)"})
AGE_BANDS: tuple[str, ...] = ("0-15", "16-29", "30-44", "45-64", "65-74", "75-84", "85+")

# --------------------------------------------------------------------------- care plans

COMPLETENESS_ITEMS: tuple[str, ...] = (
    "resuscitation_decision", "preferred_place_of_care", "preferred_place_of_death", "ceiling_of_treatment",
    "key_contacts", "diagnoses", "medications", "lasting_power_of_attorney", "care_needs", "gp_details",
)
"""The 10 items a plan's completeness is scored on."""

ORGANISATION_TYPES: tuple[str, ...] = ("gp_practice", "acute_trust", "ambulance_service", "nhs_111",
                                       "community_trust", "hospice", "care_home", "local_authority")
"""Kinds of organisation a clinician user of the care-plan system works in."""
ORGANISATION_LABELS = MappingProxyType({
    "gp_practice": "GP practice", "acute_trust": "Acute trust", "ambulance_service": "Ambulance service",
    "nhs_111": "NHS 111", "community_trust": "Community trust", "hospice": "Hospice", "care_home": "Care home",
    "local_authority": "Local authority"})

KEY_ITEMS: tuple[str, ...] = ("resuscitation_decision", "preferred_place_of_care", "ceiling_of_treatment",
                              "key_contacts")
"""The items a plan needs to count as complete in the cascade."""

# --------------------------------------------------------------------------- nearest neighbours

CENSUS_AGE6_BANDS: tuple[str, ...] = ("0-15", "16-24", "25-34", "35-49", "50-64", "65+")
"""Census 2021 'Age (6 categories)' bands: the age structure of LSOAs outside the mid-2020 estimates
(explorer.bundle.population) and the national nearest-neighbour features."""

AGE_SEX_SOURCE = "ONS mid-2020 estimates; Census 2021 age bands where those are absent"
"""Where the bundle's residents by age and sex come from (titles of the age-sex tables and charts):
London's LSOAs from the mid-2020 small-area estimates, the rest from their own Census 2021 age bands
split by sex with England's mid-2021 shares (explorer.bundle.population)."""

NEIGHBOUR_FEATURES = MappingProxyType({
    "imd_score": ("IMD 2025 score (population-weighted)", "deprivation"),
    "imd_decile1": ("% in IMD 2025 national decile 1", "deprivation"),
    **{f"age_{band}": (f"% aged {band}", "age structure") for band in CENSUS_AGE6_BANDS},
    **{f"ethnic_{group}": (f"% {ETHNIC_LABELS[group]} (Census 2021)", "ethnicity") for group in ETHNIC_GROUPS},
    "urban": ("% in urban LSOAs (RUC 2021)", "rurality"),
})
"""Feature column -> (label, theme) of the nearest-neighbour table (explorer.bundle.neighbours)."""

#: Beside every PCN-level map, table and export: how PCN figures are made and how the map draws PCNs.
PCN_APPORTIONED_NOTE = ("PCN figures: registered patients apportioned by where they live (NHS Digital, July 2023); "
                        "each LSOA drawn in its majority PCN")
#: Marks a PCN at least 10% of whose registered patients live outside its place (hover, tables).
CROSSES_PLACE_LABEL = "crosses a place boundary"
#: Beside a list of LSOAs within a PCN (the map drilled to a PCN, outreach ranking LSOAs in it).
DRAWN_LSOAS_NOTE = ("LSOAs drawn in this PCN (each LSOA in its majority PCN); the PCN's own figures count its "
                    "registered patients wherever they live")
