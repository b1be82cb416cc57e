"""Population Health Explorer: care-plan coverage against deprivation and demographics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("population-health-explorer")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"
