"""Labelled evaluation of entity resolution: pairwise precision, recall and the confusions.

    python -m bench.resolution [--seed 5]

The labelled set: every entry of the three sample captures (flows/demo_site/samples; 165
papers, the LongNet pair being the one paper seen twice), plus variants generated with a
seeded RNG — each a new sighting of a sample paper (upper case, TeX markup, punctuation,
truncated author list, a typo or joined hyphen with the authors kept, an abstract-only copy
with a sentence reworded or dropped) — and look-alike traps: a different paper whose title
differs from a sample title only in a version number or a suffix, by the same authors. It is
all loaded through `warehouse.load.load_batch` in three batches into a temporary warehouse.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import duckdb

from parsers import abstracts, hf_text, scholarfeed
from parsers.records import Entry, title_key
from warehouse.load import FetchStats, PageRecord, load_batch, start_run
from warehouse.stage import PageContext, stage_row, stage_table, write_stage

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "flows" / "demo_site" / "samples"
FETCHED_AT = datetime(2026, 11, 22, 12, tzinfo=UTC)
PARSERS = {"000": scholarfeed.parse_text, "001": hf_text.parse_text, "004": abstracts.parse_text}


@dataclass(frozen=True, slots=True)
class Labelled:
    page: str
    entry: Entry
    label: str
    trap_of: str | None = None  # the label this look-alike must stay apart from


@dataclass(frozen=True, slots=True)
class Report:
    precision: float
    recall: float
    pairs_true: int
    pairs_predicted: int
    false_merges: list[tuple[str, str]]
    missed: list[tuple[str, str]]
    traps: int
    traps_joined: list[tuple[str, str]]
    longnet_joined: bool


def sample_entries() -> list[Labelled]:
    """The sample captures, labelled: a paper's label is its title key; an abstract-only
    entry is its own paper except LongNet's (README.md of the samples)."""
    out: list[Labelled] = []
    for path in sorted(SAMPLES.glob("*.txt")):
        page = PARSERS[path.name[:3]](path.read_bytes(), url=path.as_uri(), fetched_at=FETCHED_AT)
        for e in page.entries:
            label = title_key(e.title) or f"abstract:{path.name[:3]}:{e.position}"
            if not e.title and "LongNet" in (e.abstract or ""):
                label = _longnet_label(out)
            out.append(Labelled(path.as_uri(), e, label))
    return out


def _longnet_label(seen: list[Labelled]) -> str:
    return next(x.label for x in seen if x.label.startswith("longnet"))


def _upper(e: Entry, r: random.Random) -> Entry:
    return replace(e, title=(e.title or "").upper())


def _tex(e: Entry, r: random.Random) -> Entry:
    words = (e.title or "").split(" ")
    i = r.randrange(len(words))
    words[i] = r.choice([r"\emph{%s}", r"\textbf{%s}", "{%s}"]) % words[i]
    return replace(e, title=" ".join(words))


def _punct(e: Entry, r: random.Random) -> Entry:
    title = (e.title or "").replace(":", r.choice([" -", ".", ""]), 1).replace(",", "")
    return replace(e, title=title + r.choice(["", ".", " "]))


def _truncated(e: Entry, r: random.Random) -> Entry:
    return replace(e, authors=e.authors[:3], authors_complete=len(e.authors) <= 3, abstract=None)


def _typo(e: Entry, r: random.Random) -> Entry:
    title = e.title or ""
    letters = [i for i in range(2, len(title) - 2) if title[i].isalpha() and title[i + 1].isalpha()]
    i = r.choice(letters)
    if "-" in title and r.random() < 0.5:
        return replace(e, title=title.replace("-", "", 1), abstract=None)
    return replace(e, title=title[:i] + title[i + 1] + title[i] + title[i + 2 :], abstract=None)


def _reworded(e: Entry, r: random.Random) -> Entry:
    sentences = (e.abstract or "").split(". ")
    if len(sentences) > 3 and r.random() < 0.5:
        del sentences[r.randrange(1, len(sentences) - 1)]
    else:
        i = r.randrange(len(sentences))
        sentences[i] = "In this work, " + sentences[i][:1].lower() + sentences[i][1:]
    return Entry(source="abstracts", position=e.position, abstract=". ".join(sentences))


VARIANTS = {"upper": _upper, "tex": _tex, "punct": _punct, "truncated": _truncated,
            "typo": _typo, "reworded": _reworded}


def _trap(e: Entry, r: random.Random) -> Entry:
    """A different paper by the same team whose title differs only in a version or suffix."""
    head, sep, tail = (e.title or "").partition(":")
    head = r.choice([f"{head} 2", f"{head}-3", f"{head} v2", f"{head}-X"])
    return replace(e, title=head + sep + tail, arxiv_id=None, abstract=None)


def variants(base: list[Labelled], seed: int) -> list[Labelled]:
    """Deterministic variants and traps of the titled, authored sample entries."""
    r = random.Random(seed)
    out = []
    titled = [x for x in base if x.entry.title and len(x.entry.title) > 20]
    for x in titled:
        names = ["upper", "tex", "punct"]
        if x.entry.authors:
            names += ["truncated", "typo"]
        if x.entry.abstract:
            names.append("reworded")
        for name in r.sample(names, k=min(2, len(names))):
            out.append(Labelled(f"{x.page}#{name}", VARIANTS[name](x.entry, r), x.label))
        if x.entry.authors and r.random() < 0.5:
            trap = _trap(x.entry, r)
            out.append(Labelled(f"{x.page}#trap", trap, "trap:" + str(title_key(trap.title)),
                                trap_of=x.label))
    return out


def load(db: Path, batches: list[list[Labelled]], tmp: Path) -> dict[str, str]:
    """Load each batch through load_batch; sighting_id -> paper_id."""
    for n, batch in enumerate(batches):
        run_id = f"eval{n}"
        start_run(db, run_id=run_id, flow="eval", source="eval", params={},
                  started_at=FETCHED_AT, lock_timeout_s=10)
        rows = [stage_row(x.entry, PageContext(run_id, x.page, "eval", FETCHED_AT)) for x in batch]
        path = write_stage(stage_table(rows), tmp / f"{run_id}.arrow")
        pages = [PageRecord(url=u, source="eval", fetched_at=FETCHED_AT, outcome="parsed")
                 for u in sorted({x.page for x in batch})]
        load_batch(db, run_id=run_id, pages=pages, stage_paths=[path], stats=FetchStats(),
                   finished_at=FETCHED_AT)
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT sighting_id, paper_id FROM sightings").fetchall())


def score(items: list[Labelled], paper_of: list[str]) -> Report:
    """Pairwise precision and recall of the predicted partition against the labels."""
    pairs_true = {p for p in _pairs([x.label for x in items])}
    pairs_pred = {p for p in _pairs(paper_of)}
    hit = pairs_true & pairs_pred
    label = [x.label for x in items]
    false = Counter(tuple(sorted((label[i], label[j]))) for i, j in pairs_pred - pairs_true)
    miss = Counter((label[i], label[j]) for i, j in pairs_true - pairs_pred)
    by_label = {x.label: i for i, x in enumerate(items)}
    traps = [(x.label, x.trap_of) for x in items if x.trap_of]
    joined = [(a, b) for a, b in traps if paper_of[by_label[a]] == paper_of[by_label[str(b)]]]
    longnet = [
        i for i, x in enumerate(items) if x.label.startswith("longnet") and "#" not in x.page
    ]
    return Report(
        precision=len(hit) / len(pairs_pred) if pairs_pred else 1.0,
        recall=len(hit) / len(pairs_true) if pairs_true else 1.0,
        pairs_true=len(pairs_true), pairs_predicted=len(pairs_pred),
        false_merges=sorted(false), missed=sorted(set(miss)), traps=len(traps),
        traps_joined=joined, longnet_joined=len({paper_of[i] for i in longnet}) == 1,
    )


def _pairs(groups: list[str]) -> set[tuple[int, int]]:
    by: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by.setdefault(g, []).append(i)
    return {p for members in by.values() for p in combinations(members, 2)}


def evaluate(seed: int = 5) -> Report:
    """Build the labelled set, resolve it in three batches, score it."""
    base = sample_entries()
    extra = variants(base, seed)
    items = base + extra
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "eval.duckdb"
        ctx = [stage_row(x.entry, PageContext("-", x.page, "eval", FETCHED_AT)) for x in items]
        sids = [str(row["sighting_id"]) for row in ctx]
        half = len(extra) // 2
        paper = load(db, [base, extra[:half], extra[half:]], Path(tmp))
    return score(items, [paper[s] for s in sids])


def format_report(rep: Report) -> str:
    lines = [
        f"pairwise precision {rep.precision:.4f}  recall {rep.recall:.4f}  "
        f"(true pairs {rep.pairs_true}, predicted {rep.pairs_predicted})",
        f"look-alike traps kept apart: {rep.traps - len(rep.traps_joined)}/{rep.traps}",
        f"LongNet pair joined: {rep.longnet_joined}",
        f"false merges ({len(rep.false_merges)}):",
        *(f"  {a!r} + {b!r}" for a, b in rep.false_merges),
        f"missed pairs ({len(rep.missed)}):",
        *(f"  {a!r} / {b!r}" for a, b in rep.missed),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Evaluate entity resolution on the labelled set.")
    ap.add_argument("--seed", type=int, default=5)
    print(format_report(evaluate(ap.parse_args(argv).seed)))  # noqa: T201 - a CLI report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
