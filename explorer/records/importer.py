"""Importing real person-level extracts: kept importable under its old name; the code is in the
explorer.records.imports package (read, limits, checks, validate, service)."""

from explorer.records.imports import *
from explorer.records.imports import __all__  # noqa: F401
