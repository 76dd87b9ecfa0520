"""What the importer did with each key of each manifest: one line per key, printed on stderr.

Every line names its status, the manifest (relative to the workspace) and the key, so a line can
be found by grep and read on its own::

    imported: copilot/web/manifest.yml: http.path: "/api" -> services[0] (web).paths [/api, /api/*]
    not imported: copilot/web/manifest.yml: sidecars: ... (the reason)
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# In the order the summary counts them.
IMPORTED = "imported"  # the key maps, with the same meaning
DEFAULTED = "defaulted"  # the manifest did not say; the importer chose a value (and says which)
PLACEHOLDER = "placeholder"  # a value the importer cannot know, written so that `ops up` refuses it
DIFFERS = "differs"  # imported, but the platform behaves differently (how)
NOT_IMPORTED = "not imported"  # the key has no equivalent here (why)
SKIPPED = "skipped"  # a whole manifest was left out (why)
NOTE = "note"  # anything else worth knowing
STATUSES = (IMPORTED, DEFAULTED, PLACEHOLDER, DIFFERS, NOT_IMPORTED, SKIPPED, NOTE)


def show(value: Any) -> str:
    """A manifest value as a short, JSON-like text."""
    text = json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Entry:
    status: str
    file: str
    key: str
    text: str

    def line(self) -> str:
        return f"{self.status}: {self.file}: {self.key}: {self.text}"


@dataclass
class Report:
    """The entries in the order the importer made them."""

    entries: list[Entry] = field(default_factory=list)

    def add(self, status: str, file: str, key: str, text: str) -> None:
        assert status in STATUSES, status
        self.entries.append(Entry(status, file, key, text))

    def lines(self) -> list[str]:
        return [e.line() for e in self.entries]

    def of(self, status: str) -> list[Entry]:
        return [e for e in self.entries if e.status == status]

    def summary(self) -> str:
        """``report: 12 imported, 2 defaulted, ...`` (statuses with no entry left out)."""
        counts = Counter(e.status for e in self.entries)
        return "report: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) if counts else "report: empty"
