"""Golden-file helpers for parser tests.

A golden file is the JSON form of a parsed page. `assert_golden` compares a page with its
golden; with `UPDATE_GOLDEN=1` in the environment it (re)writes the file instead, and the
diff must then be read by eye before it is committed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from parsers.records import Entry, ListingPage

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "golden"


def _plain(value: Any) -> Any:
    """JSON-ready form: dates as ISO strings, tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def entry_to_dict(
    entry: Entry, fields: Iterable[str] | None = None, *, clip: int | None = None
) -> dict[str, Any]:
    """The entry as a JSON-ready dict: the named `fields` (default: every field not at its
    default). `clip` shortens the abstract to that many characters plus "…", for goldens that
    only need to prove which abstract went with which entry."""
    defaults = {f.name: f.default for f in dataclasses.fields(Entry)}
    names = (
        list(fields)
        if fields is not None
        else [
            name
            for name in defaults
            if getattr(entry, name) != defaults[name] or name == "position"
        ]
    )
    out = {}
    for name in names:
        value = getattr(entry, name)
        if clip is not None and name == "abstract" and value and len(value) > clip:
            value = value[:clip] + "…"
        out[name] = _plain(value)
    return out


def page_to_dict(
    page: ListingPage, fields: Iterable[str] | None = None, *, clip: int | None = None
) -> dict[str, Any]:
    """The page as a JSON-ready dict, entries via `entry_to_dict`."""
    fields = list(fields) if fields is not None else None
    return {
        "url": page.url,
        "source": page.source,
        "kind": page.kind,
        "count": len(page.entries),
        "total": page.total,
        "next_urls": list(page.next_urls),
        "warnings": list(page.warnings),
        "entries": [entry_to_dict(e, fields, clip=clip) for e in page.entries],
    }


def assert_golden(
    page: ListingPage,
    path: str | Path,
    fields: Iterable[str] | None = None,
    *,
    clip: int | None = None,
) -> None:
    """Assert `page` matches the golden at `path` (relative paths are under GOLDEN_DIR)."""
    target = Path(path) if Path(path).is_absolute() else GOLDEN_DIR / path
    actual = page_to_dict(page, fields, clip=clip)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", "utf-8")
        return
    assert target.exists(), f"missing golden {target}; run with UPDATE_GOLDEN=1"
    expected = json.loads(target.read_text("utf-8"))
    assert actual == expected
