"""The one registry of official datasets the tool uses.

Each entry says where the file is published, under what licence, what the local mirror calls it,
and which columns we need (matched tolerantly: official releases vary case and year suffixes).
Column patterns are regular expressions searched in a *normalised* header (lower case, runs of
non-alphanumerics collapsed to one space), see `explorer.sources.tabular.normalise_header`.

URLs were recorded from the publishers' pages; machines here cannot reach them, so each can be
overridden with the environment variable EXPLORER_URL_<NAME> (upper case) if a publisher moves it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

OGL = "Open Government Licence v3.0"
ONS = "Office for National Statistics"
MHCLG = "Ministry of Housing, Communities and Local Government"
NHSD = "NHS England (formerly NHS Digital)"


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    publisher: str
    licence: str
    url: str  # official download location
    mirror_name: str  # file name of the stand-in copy in a mirror directory
    landing_page: str
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    read_notes: str = ""
    synthetic_fallback: bool = False  # optional: when absent, the build generates one in this layout
    member: str | None = None  # the CSV to read inside a zip download
    sha256: str | None = None  # pin, when the publisher's exact bytes are known

    @property
    def download_url(self) -> str:
        return os.environ.get(f"EXPLORER_URL_{self.name.upper()}", self.url)

    @property
    def attribution(self) -> str:
        return f"Source: {self.publisher}, {self.title} ({self.licence})"


def _decile(domain: str) -> tuple[str, ...]:
    return (rf"^{domain}.*decile",)


def _rank(domain: str) -> tuple[str, ...]:
    return (rf"^{domain}.*rank",)


def _score(domain: str) -> tuple[str, ...]:
    return (rf"^{domain}.*score",)


# IoD domains: (short key, header prefix pattern)
IMD_DOMAINS: dict[str, str] = {
    "imd": r"index of multiple deprivation",
    "income": r"income",
    "employment": r"employment",
    "education": r"education skills and training",
    "health": r"health deprivation and disability",
    "crime": r"crime",
    "housing": r"barriers to housing and services",
    "living_environment": r"living environment",
}


def _imd_columns() -> dict[str, tuple[str, ...]]:
    cols: dict[str, tuple[str, ...]] = {
        "lsoa21cd": (r"^lsoa code", r"^lsoa\d\dcd$", r"^lsoa 2021 code"),
        "lsoa21nm": (r"^lsoa name", r"^lsoa\d\dnm$"),
    }
    for key, prefix in IMD_DOMAINS.items():
        cols[f"{key}_score"] = _score(prefix)
        cols[f"{key}_rank"] = _rank(prefix)
        cols[f"{key}_decile"] = _decile(prefix)
    # optional: the full File 7 carries the population MHCLG weights its area summaries by
    cols["imd_population"] = (r"^total population.*mid.*excluding prisoners", r"^total population.*mid")
    return cols


IMD_OPTIONAL_COLUMNS = ("imd_population",)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            name="lsoa_boundaries_bgc",
            title="LSOA (December 2021) Boundaries EW BGC",
            publisher=ONS,
            licence=OGL + "; contains OS data © Crown copyright and database right",
            url="https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items/"
            "lsoa-december-2021-boundaries-ew-bgc/geoPackage?layers=0",
            mirror_name="LSOA_2021_EW_BGC_London.gpkg",
            landing_page="https://geoportal.statistics.gov.uk/",
            columns={"lsoa21cd": (r"^lsoa\d\dcd$",), "lsoa21nm": (r"^lsoa\d\dnm$",)},
            read_notes="GeoPackage or zipped shapefile, EPSG:27700, generalised to 20 m. Used for regional builds.",
        ),
        Source(
            name="lsoa_boundaries_bsc",
            title="LSOA (December 2021) Boundaries EW BSC",
            publisher=ONS,
            licence=OGL + "; contains OS data © Crown copyright and database right",
            url="https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items/"
            "lsoa-december-2021-boundaries-ew-bsc/geoPackage?layers=0",
            mirror_name="LSOA_2021_EW_BSC.gpkg",
            landing_page="https://geoportal.statistics.gov.uk/",
            columns={"lsoa21cd": (r"^lsoa\d\dcd$",), "lsoa21nm": (r"^lsoa\d\dnm$",)},
            read_notes="Super-generalised (200 m) polygons for England and Wales. Used for the England build.",
        ),
        Source(
            name="lsoa_icb_lookup",
            title="LSOA (2021) to Sub-ICB Location to ICB to LAD (April 2024) Lookup in England",
            publisher=ONS,
            licence=OGL,
            url="https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items/"
            "lsoa21-sicbl24-icb24-lad24-en-lu/csv?layers=0",
            mirror_name="LSOA21_SICBL24_ICB24_LAD24_EN_LU.csv",
            landing_page="https://geoportal.statistics.gov.uk/",
            columns={
                "lsoa21cd": (r"^lsoa\d\dcd$",),
                "lsoa21nm": (r"^lsoa\d\dnm$",),
                "sicbl_code": (r"^sicbl\d\dcd$",),
                "sicbl_name": (r"^sicbl\d\dnm$",),
                "icb_code": (r"^icb\d\dcd$",),
                "icb_ods": (r"^icb\d\dcdh$",),
                "icb_name": (r"^icb\d\dnm$",),
                "lad_code": (r"^lad\d\dcd$",),
                "lad_name": (r"^lad\d\dnm$",),
            },
        ),
        Source(
            name="imd2025",
            title="English Indices of Deprivation 2025, File 7: all ranks, deciles and scores",
            publisher=MHCLG,
            licence=OGL,
            url="https://assets.publishing.service.gov.uk/media/iod2025/"
            "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
            mirror_name="File_7_IoD2025_LSOA21_subset.csv",
            landing_page="https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
            columns=_imd_columns(),
            read_notes="Deciles and ranks are national (1 = most deprived). 'Total population: mid 2022 "
            "(excluding prisoners)', when present, weights area IMD scores as MHCLG's summaries do; the "
            "mirror omits the denominator columns, so there Census 2021 population weights them.",
        ),
        Source(
            name="census_ethnicity",
            title="Census 2021 TS021 Ethnic group (5 categories) by LSOA 2021",
            publisher=ONS,
            licence=OGL,
            url="https://www.nomisweb.co.uk/output/census/2021/census2021-ts021.zip",
            mirror_name="census2021_TS021_ethnic_group_LSOA21.csv",
            landing_page="https://www.ons.gov.uk/datasets/TS021/editions/2021/versions/3",
            columns={
                "lsoa21cd": (r"^lsoa\d\dcd$", r"lower layer super output areas code", r"^geography code$"),
                "category": (r"^ethnic group",),
                "count": (r"^observation$", r"^count$"),
            },
            read_notes="Long format (one row per LSOA and category), as ONS 'create a custom dataset' gives. "
            "The nomis bulk zip's wide layout ('Ethnic group: ...' columns) is read too.",
        ),
        Source(
            name="census_disability",
            title="Census 2021 TS038 Disability by LSOA 2021",
            publisher=ONS,
            licence=OGL,
            url="https://www.nomisweb.co.uk/output/census/2021/census2021-ts038.zip",
            mirror_name="census2021_TS038_disability_LSOA21.csv",
            landing_page="https://www.ons.gov.uk/datasets/TS038/editions/2021/versions/3",
            columns={
                "lsoa21cd": (r"^lsoa\d\dcd$", r"lower layer super output areas code", r"^geography code$"),
                "category": (r"^disability",),
                "count": (r"^observation$", r"^count$"),
            },
        ),
        Source(
            name="census_age6",
            title="Census 2021 usual residents by age (6 categories) by LSOA 2021",
            publisher=ONS,
            licence=OGL,
            url="https://api.beta.ons.gov.uk/v1/population-types/UR/census-observations"
            "?area-type=lsoa&dimensions=resident_age_6a",
            mirror_name="census2021_age6_LSOA21.csv",
            landing_page="https://www.ons.gov.uk/datasets/create",
            columns={
                "lsoa21cd": (r"^lsoa\d\dcd$", r"lower layer super output areas code", r"^geography code$"),
                "category": (r"^age",),
                "count": (r"^observation$", r"^count$"),
            },
            read_notes="ONS 'create a custom dataset' (usual residents, LSOA, age 6 categories): all England and "
            "Wales. Used for the national nearest-neighbour features (explorer.bundle.neighbours). The API "
            "URL could not be checked from these offline machines.",
        ),
        Source(
            name="sape_mid2020",
            title="Lower layer Super Output Area population estimates, mid-2020 (broad ages), LSOA 2011",
            publisher=ONS,
            licence=OGL,
            url="https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/populationandmigration/"
            "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates/mid2020sape23dt2/"
            "sape23dt2mid2020lsoabroadagesestimatesunformatted.csv",
            mirror_name="sape_mid2020_LSOA11_London.csv",
            landing_page="https://www.ons.gov.uk/peoplepopulationandcommunity/populationandmigration/"
            "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates",
            columns={
                "lsoa11cd": (r"^lsoa\d\dcd$", r"^lsoa code"),
                **{
                    f"{sex}_{band}": (rf"^{sex}s? {band.replace('-', ' ').replace('+', '')}$",)
                    for sex in ("males", "females")
                    for band in ("0-15", "16-29", "30-44", "45-64", "65+")
                },
            },
            read_notes="Broad age bands 0-15, 16-29, 30-44, 45-64, 65+ by sex, on LSOA 2011 geography; carried "
            "to LSOA 2021 through the ONS best-fit lookup (see explorer.bundle.population).",
        ),
        Source(
            name="lsoa11_lsoa21_lookup",
            title="LSOA (2011) to LSOA (2021) to LAD (2022) Lookup for England and Wales",
            publisher=ONS,
            licence=OGL,
            url="https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items/"
            "lsoa11-lsoa21-lad22-ew-lu/csv?layers=0",
            mirror_name="LSOA11_LSOA21_LAD22_EW_LU.csv",
            landing_page="https://geoportal.statistics.gov.uk/",
            columns={
                "lsoa11cd": (r"^lsoa11cd$",),
                "lsoa21cd": (r"^lsoa21cd$",),
                "change": (r"^chgind$",),
            },
            read_notes="CHGIND: U unchanged, S split, M merged, X complex (many to many).",
        ),
        Source(
            name="rural_urban_2021",
            title="Rural Urban Classification (2021) of LSOAs in England and Wales",
            publisher=ONS,
            licence=OGL,
            url="https://open-geography-portalx-ons.hub.arcgis.com/api/download/v1/items/"
            "ruc21-lsoa21-ew/csv?layers=0",
            mirror_name="RUC21_LSOA21_EW.csv",
            landing_page="https://geoportal.statistics.gov.uk/",
            columns={
                "lsoa21cd": (r"^lsoa\d\dcd$",),
                "ruc_code": (r"^ruc\d\dcd$",),
                "ruc_name": (r"^ruc\d\dnm$",),
                "urban_rural": (r"urban rural",),
            },
        ),
        Source(
            name="gp_registrations_lsoa",
            title="Patients registered at a GP practice, July 2023: patients per practice and LSOA 2011 "
            "(gp-reg-pat-prac-lsoa-male-female-Jul-23.zip)",
            publisher=NHSD,
            licence=OGL,
            url="https://files.digital.nhs.uk/patients-registered-at-a-gp-practice/july-2023/"
            "gp-reg-pat-prac-lsoa-male-female-Jul-23.zip",
            mirror_name="gp-reg-pat-prac-lsoa-male-female-Jul-23.zip",
            landing_page="https://digital.nhs.uk/data-and-information/publications/statistical/"
            "patients-registered-at-a-gp-practice/july-2023",
            columns={
                "practice_code": (r"^practice code$",),
                "practice_name": (r"^practice name$",),
                "lsoa_code": (r"^lsoa code$", r"^lsoa\d\dcd$"),
                "sex": (r"^sex$",),
                "patients": (r"^number of patients$",),
            },
            member="gp-reg-pat-prac-lsoa-all.csv",
            read_notes="The zip's gp-reg-pat-prac-lsoa-all.csv (SEX=ALL) is read. LSOA codes are 2011 codes "
            "(NHS Digital published 2011 codes until 2024), carried to 2021 in explorer.bundle.registrations; "
            "Welsh (W01) and NO2011 rows are dropped and reported. The files.digital.nhs.uk folder of each "
            "release differs: override with EXPLORER_URL_GP_REGISTRATIONS_LSOA if this one moved.",
            synthetic_fallback=True,
        ),
        Source(
            name="gp_practice_map",
            title="Patients registered at a GP practice: practice to PCN, Sub-ICB and ICB map (January 2024)",
            publisher=NHSD,
            licence=OGL,
            url="https://files.digital.nhs.uk/patients-registered-at-a-gp-practice/january-2024/"
            "gp-reg-pat-prac-map.csv",
            mirror_name="gp-reg-pat-prac-map.csv",
            landing_page="https://digital.nhs.uk/data-and-information/publications/statistical/"
            "patients-registered-at-a-gp-practice/january-2024",
            columns={
                "practice_code": (r"^practice code$",),
                "practice_name": (r"^practice name$",),
                "pcn_code": (r"^pcn code$",),
                "pcn_name": (r"^pcn name$",),
                "sicbl_code": (r"^ons sub icb location code$", r"^ons ccg code$"),
                "icb_code": (r"^ons icb code$", r"^ons stp code$"),
            },
            read_notes="One row per practice. Practices outside any PCN carry PCN_CODE 'U' ('Unallocated'); "
            "they keep their registrations but get no PCN weight.",
            synthetic_fallback=True,
        ),
    ]
}

PUBLIC_SOURCES = tuple(name for name, s in SOURCES.items() if not s.synthetic_fallback)
GP_SOURCES = tuple(name for name, s in SOURCES.items() if s.synthetic_fallback)
