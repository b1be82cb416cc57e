"""Download official files, or read them from a mirror, through one code path.

A mirror is just another base location: `file:///mirror/<mirror_name>` instead of the publisher's
https URL. Both go through urllib, the same resumable, checksummed copy into the user cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from explorer.atomic import write_text_atomic
from explorer.config import Settings
from explorer.errors import DataMissingError, DownloadError
from explorer.sources.registry import SOURCES, Source

CHUNK = 1 << 20
MANIFEST = "manifest.json"
HOW_TO_GET_DATA = (
    "Run `explorer data fetch` on a machine with internet access, or point the tool at a local copy of "
    "the official files with `--mirror DIR` or the environment variable EXPLORER_MIRROR=DIR "
    "(on these machines: EXPLORER_MIRROR=../shared/data/public)."
)


@dataclass(frozen=True)
class Fetched:
    name: str
    path: Path
    location: str
    sha256: str
    size: int


def source_location(source: Source, mirror: Path | None) -> str:
    """Where to read a source from: the mirror's copy when a mirror is set, else the official URL."""
    return (mirror / source.mirror_name).as_uri() if mirror else source.download_url


def cache_path(settings: Settings, source: Source) -> Path:
    return settings.cache_dir / "sources" / f"{source.name}{Path(source.mirror_name).suffix}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(settings: Settings) -> dict[str, dict]:
    path = settings.cache_dir / "sources" / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def _write_manifest(settings: Settings, manifest: dict[str, dict]) -> None:
    write_text_atomic(settings.cache_dir / "sources" / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def _copy_stream(location: str, part: Path, label: str, progress: bool) -> None:
    """Stream into `part`, resuming from its length when the server honours a Range request."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(location, headers={"User-Agent": "population-health-explorer"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        hint = "" if location.startswith("file:") else (
            "\nNo internet here? Use a local copy of the official files: --mirror DIR or EXPLORER_MIRROR=DIR "
            "(on these machines: EXPLORER_MIRROR=../shared/data/public).")
        raise DownloadError(f"could not read {location}: {reason}{hint}") from exc
    with response:
        resumed = offset and getattr(response, "status", 200) == 206
        mode = "ab" if resumed else "wb"
        total = response.headers.get("Content-Length")
        total_bytes = int(total) + (offset if resumed else 0) if total else None
        with part.open(mode) as out, tqdm(
            total=total_bytes, initial=offset if resumed else 0, unit="B", unit_scale=True,
            desc=label, disable=not progress, file=sys.stderr, leave=False,
        ) as bar:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))


def fetch_source(settings: Settings, source: Source, *, force: bool = False, progress: bool = True) -> Fetched:
    """Copy one source into the cache (or reuse a verified copy) and record its checksum."""
    target = cache_path(settings, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(settings)
    location = source_location(source, settings.mirror)
    entry = manifest.get(source.name)
    if not force and target.exists() and entry and entry.get("sha256") == _sha256(target):
        return Fetched(source.name, target, entry["location"], entry["sha256"], target.stat().st_size)

    part = target.with_name(target.name + ".part")
    _copy_stream(location, part, source.name, progress)
    digest = _sha256(part)
    if source.sha256 and digest != source.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{source.name}: checksum mismatch for {location} (got {digest[:12]}..., expected "
            f"{source.sha256[:12]}...); the download was corrupted or the publisher changed the file"
        )
    part.replace(target)
    manifest[source.name] = {
        "location": location,
        "sha256": digest,
        "bytes": target.stat().st_size,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "title": source.title,
        "publisher": source.publisher,
        "licence": source.licence,
    }
    _write_manifest(settings, manifest)
    return Fetched(source.name, target, location, digest, target.stat().st_size)


def cached_source(settings: Settings, name: str) -> Path:
    """The cached file for a source, or a plain message saying how to get it."""
    source = SOURCES[name]
    path = cache_path(settings, source)
    if path.exists():
        return path
    if settings.mirror and (settings.mirror / source.mirror_name).exists():
        return fetch_source(settings, source, progress=False).path
    raise DataMissingError(f"Public data '{source.title}' is missing: {path} does not exist.\n{HOW_TO_GET_DATA}")


def optional_cached_source(settings: Settings, name: str) -> Path | None:
    """For sources with a synthetic fallback: the real file if we have it, else None."""
    try:
        return cached_source(settings, name)
    except DataMissingError:
        return None


def source_record(settings: Settings, name: str) -> dict:
    return _read_manifest(settings).get(name, {})


def clear_cache(settings: Settings) -> None:
    shutil.rmtree(settings.cache_dir / "sources", ignore_errors=True)
