"""The fetcher: one path for mirror and download, checksummed, resumable, clear when data is missing."""

from __future__ import annotations

import dataclasses
import json

import pytest

from explorer.config import Settings
from explorer.errors import DataMissingError, DownloadError
from explorer.sources import fetch
from explorer.sources.registry import PUBLIC_SOURCES, SOURCES


@pytest.fixture()
def fresh(tmp_path, mirror) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=mirror)


def test_registry_lists_every_official_source_with_provenance():
    assert {"lsoa_boundaries_bgc", "lsoa_boundaries_bsc", "lsoa_icb_lookup", "imd2025", "census_ethnicity",
            "census_disability", "sape_mid2020", "lsoa11_lsoa21_lookup", "rural_urban_2021",
            "gp_registrations_lsoa", "gp_practice_map", "census_age6"} == set(SOURCES)
    for source in SOURCES.values():
        assert source.url.startswith("https://") and source.publisher and "Licence" in source.licence
        assert source.columns, source.name


def test_mirror_is_read_through_the_same_url_path_as_a_download(fresh):
    source = SOURCES["rural_urban_2021"]
    assert fetch.source_location(source, None) == source.url
    assert fetch.source_location(source, fresh.mirror).startswith("file://")
    got = fetch.fetch_source(fresh, source, progress=False)
    assert got.path.read_bytes() == (fresh.mirror / source.mirror_name).read_bytes()
    manifest = json.loads((fresh.cache_dir / "sources" / "manifest.json").read_text())
    assert manifest[source.name]["sha256"] == got.sha256 and manifest[source.name]["location"] == got.location


def test_a_verified_copy_is_reused_and_a_corrupted_one_fetched_again(fresh):
    source = SOURCES["rural_urban_2021"]
    first = fetch.fetch_source(fresh, source, progress=False)
    mtime = first.path.stat().st_mtime_ns
    assert fetch.fetch_source(fresh, source, progress=False).path.stat().st_mtime_ns == mtime
    first.path.write_bytes(b"truncated")
    again = fetch.fetch_source(fresh, source, progress=False)
    assert again.sha256 == first.sha256 and again.path.stat().st_size > 1_000_000


def test_an_interrupted_download_leaves_a_part_file_that_the_next_fetch_completes(fresh):
    source = SOURCES["rural_urban_2021"]
    target = fetch.cache_path(fresh, source)
    target.parent.mkdir(parents=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes((fresh.mirror / source.mirror_name).read_bytes()[:1000])
    got = fetch.fetch_source(fresh, source, progress=False)
    assert not part.exists() and got.path.read_bytes() == (fresh.mirror / source.mirror_name).read_bytes()


def test_checksum_mismatch_is_refused_and_nothing_is_cached(fresh):
    pinned = dataclasses.replace(SOURCES["rural_urban_2021"], sha256="0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch.fetch_source(fresh, pinned, progress=False)
    assert not fetch.cache_path(fresh, pinned).exists()


def test_without_internet_or_mirror_the_message_says_how_to_get_the_data(tmp_path):
    offline = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d", mirror=None)
    with pytest.raises(DataMissingError) as err:
        fetch.cached_source(offline, "imd2025")
    assert "explorer data fetch" in str(err.value) and "EXPLORER_MIRROR" in str(err.value)


def test_a_mirror_missing_a_file_is_a_download_error_naming_the_location(tmp_path):
    empty_mirror = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d", mirror=tmp_path)
    with pytest.raises(DownloadError, match="File_7_IoD2025"):
        fetch.fetch_source(empty_mirror, SOURCES["imd2025"], progress=False)


def test_gp_sources_are_the_only_ones_with_a_synthetic_fallback():
    assert set(SOURCES) - set(PUBLIC_SOURCES) == {"gp_registrations_lsoa", "gp_practice_map"}


def test_a_failed_download_says_to_use_a_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_URL_IMD2025", "https://unreachable.invalid/file.csv")  # the URL override
    offline = Settings(cache_dir=tmp_path / "c", data_dir=tmp_path / "d", mirror=None)
    with pytest.raises(DownloadError) as err:
        fetch.fetch_source(offline, SOURCES["imd2025"], progress=False)
    assert "unreachable.invalid" in str(err.value) and "EXPLORER_MIRROR" in str(err.value)
    assert not (tmp_path / "c" / "sources" / "imd2025.csv").exists()
