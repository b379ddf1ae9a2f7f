"""A realistic Hugging Face Papers site of any size, written to disk and served from 127.0.0.1.

    python -m bench.site build --days 2000 [--out bench/out/site]
    python -m bench.site serve --root bench/out/site-2000 [--port 0]   # prints the base URL

Day pages reuse the demo-site generator (`flows/demo_site/pagegen.py` + `make_site.py`): the
full page chrome, the escaped `DailyPapers` island JSON and the rendered cards, ~50 papers a
day. A share of each day's list (`RELIST_SHARE`) re-lists papers from the previous week with
later upvote counts, the way HF day pages overlap, so resolution has real duplicates to
merge. Page `i` depends only on `(SEED, i)`, so the 1x site is the first pages of the 16x site
and one generated site serves every size.

The server is a separate process (asyncio, HTTP/1.1 keep-alive, ETag + If-None-Match -> 304,
an allow-all robots.txt), so it never shares a GIL with the system being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from email.utils import formatdate
from pathlib import Path

from flows.demo_site.make_site import later, make_paper, ranked
from flows.demo_site.pagegen import (
    Paper,
    daily_papers_page,
    day_heading,
    island,
    item_json,
    props_json,
)

SEED = 20260504
START = date(2019, 1, 1)
PAPERS_PER_DAY = (45, 55)
RELIST_SHARE = 0.2  # share of a day's list that re-lists papers from the previous 7 days
RELIST_WINDOW = 7
MANIFEST = "manifest.json"
# Bumped whenever the pages a seed makes change, so an older build is not reused.
GENERATOR = "2: Zipf abstract vocabulary"
GENERATOR_FILE = "generator.txt"
ROBOTS = b"User-agent: *\nAllow: /\n"
BENCH_OUT = Path(__file__).resolve().parent / "out"


def day_of(index: int) -> date:
    return START + timedelta(days=index)


def day_path(index: int) -> str:
    return f"/papers/date/{day_of(index).isoformat()}"


_ONSETS = "b c d f g h k l m n p r s t v w z br cl dr fl gr pl pr st tr th sh ch".split()
_NUCLEI = "a e i o u ai ea io ou".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(rng.randint(1, 3)))


_COMMON = (
    "we the of and a to in model models data for with on is that learning our results this "
    "training performance method task tasks language large show propose benchmark"
).split()
# Abstract words follow Zipf's law over a fixed lexicon, as real text does: the common words
# above first, then made-up words. Drawing each word afresh from ~16M syllable strings instead
# (this generator until 2026-12-02) gave 1.9M distinct words over 66k abstracts, against
# ~0.15M that the Heaps curve of the real abstracts in the shared samples predicts; the
# search index, which stems each distinct word, paid for vocabulary no listing has.
LEXICON_WORDS = 400_000
ZIPF_S = 1.2  # fits the samples' curve: 5k words of text hold ~1.3k distinct, 20k hold ~3-4k


@functools.cache
def _lexicon() -> tuple[list[str], list[float]]:
    """The abstract lexicon, shorter words ranked first, and its cumulative Zipf weights (rank
    r weighs 1 / r**ZIPF_S)."""
    rng = random.Random(SEED)
    syllables = [o + n for o in _ONSETS for n in _NUCLEI]
    two = ["".join(p) for p in itertools.product(syllables, repeat=2)]
    three = ("".join(rng.choices(syllables, k=3)) for _ in itertools.count())
    words = dict.fromkeys([*_COMMON, *syllables, *rng.sample(two, len(two))])
    while len(words) < LEXICON_WORDS:
        words.setdefault(next(three))
    return list(words), list(itertools.accumulate(r**-ZIPF_S for r in range(1, len(words) + 1)))


def _specific(rng: random.Random) -> str:
    """An abstract of its own: the demo builds abstracts from a few dozen stock sentences, so
    at 100k papers thousands of unrelated papers would share most of their text, which no
    real listing does (and which makes any abstract-similarity search quadratic)."""
    lexicon, cum_weights = _lexicon()
    sentences = []
    for _ in range(rng.randint(4, 7)):
        words = rng.choices(lexicon, cum_weights=cum_weights, k=rng.randint(12, 28))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _new_papers(rng: random.Random, index: int, count: int) -> list[Paper]:
    day = day_of(index)
    yymm = f"{day:%y%m}"
    # 31 days * 100 slots per day keeps ids unique within a yymm prefix (5 digits).
    base = day.day * 100
    papers = [make_paper(rng, f"{yymm}.{base + j:05d}", day) for j in range(count)]
    return [_diversify(rng, p) for p in papers]


def _diversify(rng: random.Random, paper: Paper) -> Paper:
    """Give a demo paper the spread of a real listing: the demo draws surnames from 30 and
    titles from a few dozen shapes, which at 100k papers means thousands of unrelated papers
    with one title shape and one author surname; real listings have neither."""
    authors = tuple(f"{a.split()[0]} {_word(rng).capitalize()}" for a in paper.authors)
    title = paper.title
    if rng.random() < 0.6:
        title = f"{_word(rng).capitalize()}{_word(rng)}: {title}"
    else:
        title = f"{title} via {_word(rng).capitalize()} {_word(rng)}"
    return replace(
        paper,
        title=title,
        authors=tuple(dict.fromkeys(authors)),
        submitter=authors[0],
        summary=_specific(rng),
        claimed_authors=tuple(i for i in paper.claimed_authors if i < len(set(authors))),
    )


def _chrome_padding(rng: random.Random) -> str:
    """Islands real HF pages carry besides the list (nav, trending models/spaces sidebars):
    enough escaped JSON that a 50-paper day page weighs ~350 KB like a live one."""
    items = [
        {
            "id": f"org{rng.randint(0, 999)}/model-{rng.randint(0, 99999)}",
            "likes": rng.randint(0, 5000),
            "downloads": rng.randint(0, 10**7),
            "pipeline_tag": rng.choice(["text-generation", "image-to-text", "any-to-any"]),
            "lastModified": f"2026-05-0{rng.randint(1, 9)}T10:00:00.000Z",
            "authorData": {"avatarUrl": f"/avatars/{rng.getrandbits(64):016x}.svg"},
        }
        for _ in range(215)
    ]
    return island("TrendingSidebar", {"models": items, "isLoggedIn": False}, "")


def build_site(days: int, out: Path) -> Path:
    """Write `days` day pages (and a manifest: path -> [file, etag]) under `out`; reuse a
    complete earlier build of at least that size."""
    manifest_file, generator_file = out / MANIFEST, out / GENERATOR_FILE
    if manifest_file.exists() and generator_file.exists():
        manifest = json.loads(manifest_file.read_text())
        if len(manifest) >= days and generator_file.read_text() == GENERATOR:
            return out
    out.mkdir(parents=True, exist_ok=True)
    recent: deque[list[Paper]] = deque(maxlen=RELIST_WINDOW)
    manifest = {}
    for index in range(days):
        rng = random.Random(SEED * 100_003 + index)  # noqa: S311 - sample data
        count = rng.randint(*PAPERS_PER_DAY)
        relist_n = int(count * RELIST_SHARE) if recent else 0
        pool = [p for papers in recent for p in papers]
        again = [
            later(rng, p, rng.randint(1, 3)) for p in rng.sample(pool, min(relist_n, len(pool)))
        ]
        fresh = _new_papers(rng, index, count - len(again))
        papers = ranked(fresh + again)
        recent.append(fresh)
        manifest[day_path(index)] = _write_day(out, index, papers, rng)
    manifest_file.write_text(json.dumps(manifest))
    generator_file.write_text(GENERATOR)
    return out


def _write_day(out: Path, index: int, papers: list[Paper], rng: random.Random) -> list[str]:
    day = day_of(index)
    props = props_json(
        date_string=day.isoformat(),
        items=[item_json(p) for p in papers],
        prev_date=day_of(index - 1).isoformat(),
    )
    path = day_path(index)
    html = daily_papers_page(path=path, props=props, heading=day_heading(day))
    html = html.replace("\n<main ", _chrome_padding(rng) + "\n<main ", 1)
    body = html.encode()
    name = f"d{index:05d}.html"
    (out / name).write_bytes(body)
    return [name, '"' + hashlib.sha256(body).hexdigest()[:16] + '"']


def day_urls(base: str, days: int) -> list[str]:
    return [base + day_path(i) for i in range(days)]


# --------------------------------------------------------------------------- server


class _Server(asyncio.Protocol):
    """Minimal HTTP/1.1 server: GET/HEAD of the manifest's pages, 304 on a matching ETag."""

    pages: dict[str, tuple[Path, str]] = {}
    stamp = formatdate(1_778_000_000, usegmt=True)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        path = target.split("?", 1)[0].rstrip("/") or "/"
        status, extra, body = self._route(path, headers)
        close = headers.get("connection", "").lower() == "close"
        out = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", *extra]
        out.append(f"Content-Length: {len(body)}")
        if close:
            out.append("Connection: close")
        payload = ("\r\n".join(out) + "\r\n\r\n").encode()
        self.transport.write(payload + (b"" if method == "HEAD" else body))  # type: ignore[attr-defined]
        if close:
            self.transport.close()

    def _route(self, path: str, headers: dict[str, str]) -> tuple[str, list[str], bytes]:
        if path == "/robots.txt":
            return "200 OK", ["Content-Type: text/plain"], ROBOTS
        entry = self.pages.get(path)
        if entry is None:
            return "404 Not Found", ["Content-Type: text/plain"], b"not found"
        file, etag = entry
        validators = [f"ETag: {etag}", f"Last-Modified: {self.stamp}"]
        if headers.get("if-none-match") == etag:
            return "304 Not Modified", validators, b""
        return "200 OK", ["Content-Type: text/html; charset=utf-8", *validators], file.read_bytes()


async def _serve(root: Path, port: int) -> None:
    manifest = json.loads((root / MANIFEST).read_text())
    _Server.pages = {path: (root / name, etag) for path, (name, etag) in manifest.items()}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Server, "127.0.0.1", port, backlog=512)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


@contextmanager
def serving(root: Path, python: str = sys.executable) -> Iterator[str]:
    """Run the server for `root` in a child process; yields its base URL."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [python, "-m", "bench.site", "serve", "--root", str(root)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env=env,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        if not base.startswith("http"):
            raise RuntimeError("bench site server did not start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.site")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--days", type=int, required=True)
    b.add_argument("--out", type=Path, default=BENCH_OUT / "site")
    s = sub.add_parser("serve")
    s.add_argument("--root", type=Path, required=True)
    s.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.cmd == "build":
        t0 = time.perf_counter()
        build_site(args.days, args.out)
        print(f"{args.days} pages in {args.out} ({time.perf_counter() - t0:.1f}s)")
        return 0
    asyncio.run(_serve(args.root, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
