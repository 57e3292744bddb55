"""One finding of ``edgekit check``: severity, rule, node, message and fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    rule: str
    node: str
    op: str
    message: str
    fix: str
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
