"""Entity resolution at scale: resolve N new entries against a warehouse of M papers.

    python -m bench.resolution_scale                      # 100,000 new vs 1,000,000 papers
    python -m bench.resolution_scale --papers 50000 --new 5000 --no-write   # a quick run

Builds a synthetic but realistic warehouse with bulk Arrow inserts (arXiv ids, titles,
authors, an abstract for a share of papers; its title blocks, and abstract sketches as a
warehouse has them once it holds an abstract-only sighting, so the load measures the steady
state rather than the one-off backfill of docs/resolution.md "Lazy sketches"), then
loads the new entries through `warehouse.load.load_batch` in a child process, whose wall
time and peak RSS (`resource.getrusage`) are the measurement. The mix of new entries: known
arXiv ids, title-only variants (case, punctuation, truncated authors), similar-title variants
(a typo), abstract-only copies, and brand-new papers. Writes the result into
docs/benchmarks.md under "## Entity resolution at scale" (replacing only that section).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from warehouse.db import load_sql, open_writer, transaction
from warehouse.keys import surname, title_blocks
from warehouse.load import FetchStats, load_batch, start_run
from warehouse.resolve import add_sketches, block_rows, keys_of, sketch_rows
from warehouse.stage import KEY_COLUMNS, STAGE_SCHEMA, write_stage

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Entity resolution at scale"
T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
MIX = {"arxiv": 0.40, "title": 0.20, "similar": 0.10, "abstract": 0.10, "brand_new": 0.20}
ABSTRACT_SHARE = 0.15


def _vocab(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(n)]


class Gen:
    """Deterministic synthetic papers drawn from word and name vocabularies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = _vocab(self.rng, 20_000)
        self.names = [w.capitalize() for w in _vocab(self.rng, 30_000)]
        self.given = [w.capitalize() for w in _vocab(self.rng, 2_000)]

    def paper(self, i: int) -> dict[str, object]:
        r = self.rng
        title = " ".join(r.choice(self.words) for _ in range(r.randint(5, 11))).capitalize()
        authors = [f"{r.choice(self.given)} {r.choice(self.names)}" for _ in range(r.randint(1, 8))]
        abstract = None
        if r.random() < ABSTRACT_SHARE:
            abstract = " ".join(r.choice(self.words) for _ in range(r.randint(40, 80))) + "."
        month = i % 12 + 1
        block = i // 99_999  # one arXiv month holds at most 99,999 ids: every id unique
        return {
            "arxiv_id": f"{10 + block // 12:02d}{block % 12 + 1:02d}.{i % 99_999 + 1:05d}",
            "title": title,
            "authors": authors,
            "abstract": abstract,
            "published_date": date(2020 + i // 600_000, month, 1 + i % 28),
        }


def _row(
    p: dict[str, object], sid: str, run_id: str, source: str, **over: object
) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(STAGE_SCHEMA.names)
    row.update(
        sighting_id=sid, run_id=run_id, source=source, page_url=f"http://bench/{source}",
        page_kind="day", position=0, seen_at=T0, arxiv_id=p["arxiv_id"], title=p["title"],
        title_rendered=p["title"], authors=p["authors"], authors_complete=True,
        abstract=p["abstract"], published_date=p["published_date"], categories=[],
        organizations=[], ai_keywords=[], entry_hash=sid,
    )
    row.update(over)
    title = row["title"]
    row["title_key"] = key = _fast_key(title) if isinstance(title, str) else None
    # The key columns the parse workers stage (warehouse.stage.stage_row).
    row["surnames"] = names = [surname(a) for a in row["authors"]]  # type: ignore[attr-defined]
    row["title_blocks"] = title_blocks(key, names)
    return row


_NON_WORD = re.compile(r"[^\w]+")


def _fast_key(title: str) -> str | None:
    # Synthetic titles are ASCII; the real title_key gives the same result, only slower.
    return _NON_WORD.sub(" ", title.casefold()).strip() or None


def build(db: Path, papers: int, seed: int) -> None:
    """Write `papers` papers (one sighting each) with their blocks and sketches."""
    gen = Gen(seed)
    with open_writer(db) as con:
        for start in range(0, papers, 100_000):
            rows = [
                _row(gen.paper(i), f"s{i:08d}", "build", "arxiv-listing")
                for i in range(start, min(start + 100_000, papers))
            ]
            _insert_chunk(con, pa.Table.from_pylist(rows, schema=STAGE_SCHEMA))
        with transaction(con):
            ids = con.execute("SELECT DISTINCT paper_id FROM sightings").fetch_arrow_table()
            con.register("refresh_ids", ids)
            con.execute(load_sql("refresh_papers.sql"))
            con.unregister("refresh_ids")
        con.execute("CHECKPOINT")


def _insert_chunk(con: object, table: pa.Table) -> None:
    from warehouse.db import Connection

    assert isinstance(con, Connection)
    ids = ["pf_" + str(s)[1:] for s in table["sighting_id"].to_pylist()]
    keys = keys_of(table)
    add_sketches(keys, table)
    with transaction(con):
        for view, sql, data in (
            ("stage_sightings", "insert_sightings.sql",
             table.drop_columns(list(KEY_COLUMNS)).append_column("paper_id", pa.array(ids))),
            ("stage_sketches", "insert_sketches.sql", sketch_rows(keys, ids)),
            ("stage_blocks", "resolve_insert_blocks.sql", block_rows(keys)),
        ):
            con.register(view, data)
            con.execute(load_sql(sql))
            con.unregister(view)


def _typo(title: str, r: random.Random) -> str:
    i = r.randrange(1, len(title) - 1)
    return title[:i] + title[i + 1] + title[i] + title[i + 2 :]


def new_entries(papers: int, n: int, seed: int) -> pa.Table:
    """`n` staged rows for the load, drawn by MIX, each labelled in `page_kind`."""
    gen = Gen(seed)
    known = [gen.paper(i) for i in range(papers)]
    r = random.Random(seed + 1)
    with_abstract = [i for i, p in enumerate(known) if p["abstract"]]
    rows = []
    kinds = [k for k, share in MIX.items() for _ in range(int(share * n))]
    for j, kind in enumerate(kinds):
        rows.append(_new_row(kind, j, known, with_abstract, gen, r, papers))
    return pa.Table.from_pylist(rows, schema=STAGE_SCHEMA)


def _new_row(kind: str, j: int, known: list[dict[str, object]], with_abstract: list[int],
             gen: Gen, r: random.Random, papers: int) -> dict[str, object]:
    sid, run = f"n{j:08d}", "bench"
    if kind == "brand_new":
        return _row(gen.paper(papers + j), sid, run, "hf-papers", page_kind=kind)
    p = known[r.choice(with_abstract) if kind == "abstract" else r.randrange(len(known))]
    authors = list(p["authors"])  # type: ignore[call-overload]
    if kind == "arxiv":
        return _row(p, sid, run, "hf-papers", page_kind=kind, arxiv_version=2)
    if kind == "abstract":
        return _row(p, sid, run, "abstracts", page_kind=kind, arxiv_id=None, title=None,
                    title_rendered=None, authors=[], published_date=None)
    title = str(p["title"])
    title = title.upper() + "." if kind == "title" else _typo(title, r)
    return _row(p, sid, run, "scholarfeed", page_kind=kind, arxiv_id=None, title=title,
                title_rendered=title, authors=authors[:3], authors_complete=len(authors) <= 3,
                abstract=None)


def measure(db: Path, stage: Path) -> dict[str, float]:
    """In this (fresh) process: load the staged entries; wall time and peak RSS."""
    start_run(db, run_id="bench", flow="bench", source="bench", params={}, started_at=T0,
              lock_timeout_s=5)
    began = time.perf_counter()
    result = load_batch(db, run_id="bench", pages=[], stage_paths=[stage], stats=FetchStats(),
                        finished_at=T0 + timedelta(days=1))
    wall = time.perf_counter() - began
    peak = _own_peak_kb() / 1024
    return {"seconds": round(wall, 2), "peak_rss_mib": round(peak),
            "sightings_added": result.sightings_added, "papers_added": result.papers_added}


def _own_peak_kb() -> int:
    """This process's peak RSS since it started (VmHWM). Not `ru_maxrss`: Linux carries the
    parent's high-water mark over fork and exec into it, and the parent that built the
    1M-paper warehouse peaked at ~3 GB, which every measurement reported until 2026-12-02."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: the best there is


def check(db: Path) -> dict[str, object]:
    """How each kind of new entry was resolved (a brand-new paper should be alone)."""
    with open_writer(db) as con:
        rows = con.execute(load_sql("resolve_bench_check.sql")).fetchall()
    return {kind: {"joined_known": joined, "total": total} for kind, joined, total in rows}


def write_doc(result: dict[str, object]) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    body = (
        f"{SECTION}\n\n"
        f"`python -m bench.resolution_scale --papers {result['papers']} --new {result['new']}` "
        f"on this machine ({result['cpus']} cores), {result['when']}.\n\n"
        "| warehouse papers | new entries | load + resolve wall time | peak RSS |\n"
        "| --- | --- | --- | --- |\n"
        f"| {result['papers']:,} | {result['new']:,} | {result['seconds']} s | "
        f"{result['peak_rss_mib']} MiB |\n\n"
        "The time is `load_batch` end to end (read stage, resolve, write sightings, decisions, "
        "sketches, blocks, refresh papers, search index, commit, checkpoint, snapshot) in a fresh "
        "process; the peak RSS "
        "is that process's. How the new entries resolved (entries that joined a known paper / "
        f"entries):\n\n```\n{json.dumps(result['check'], indent=1)}\n```\n"
    )
    head, _, rest = text.partition(SECTION)
    tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
    DOC.write_text(head.rstrip() + "\n\n" + body + (tail if rest else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    ap.add_argument("--measure", nargs=2, metavar=("DB", "STAGE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db, stage = Path(tmp) / "bench.duckdb", Path(tmp) / "new.arrow"
        t = time.perf_counter()
        build(db, args.papers, args.seed)
        write_stage(new_entries(args.papers, args.new, args.seed), stage)
        print(f"built {args.papers:,} papers in {time.perf_counter() - t:.0f} s", flush=True)
        out = subprocess.run(
            [sys.executable, "-m", "bench.resolution_scale", "--measure", str(db), str(stage)],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )
        result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(papers=args.papers, new=args.new, check=check(db),
                      cpus=len(__import__("os").sched_getaffinity(0)),
                      when=datetime.now(UTC).strftime("%Y-%m-%d"))
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_doc(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
