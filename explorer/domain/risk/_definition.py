"""What "high risk" means: the top N% by score in a region, or a minimum predicted probability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from explorer.domain.risk._errors import RiskModelError


@dataclass(frozen=True)
class RiskDefinition:
    """What "high risk" means: the top `value` percent by score in the region ("top_percent"), or a
    predicted probability of at least `value` ("min_probability")."""

    kind: Literal["top_percent", "min_probability"]
    value: float

    def __post_init__(self) -> None:
        if self.kind == "top_percent":
            if not (isinstance(self.value, (int, float)) and 0 < self.value <= 100):
                raise RiskModelError(f"top_percent must be more than 0 and at most 100, got {self.value!r}")
        elif self.kind == "min_probability":
            if not (isinstance(self.value, (int, float)) and 0 <= self.value <= 1):
                raise RiskModelError(f"min_probability must be between 0 and 1, got {self.value!r}")
        else:
            raise RiskModelError(f"risk definition kind must be top_percent or min_probability, got {self.kind!r}")

    def describe(self) -> str:
        if self.kind == "top_percent":
            return f"the {self.value:g}% of people with the highest predicted risk"
        return f"predicted risk of {self.value:.1%} or more"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "value": float(self.value)}


DEFAULT_DEFINITION = RiskDefinition(kind="top_percent", value=10.0)

