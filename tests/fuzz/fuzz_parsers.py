"""Fuzz targets for every parser in `parsers.FORMATS`, one per format (atheris, libFuzzer).

    .venv/bin/python tests/fuzz/fuzz_parsers.py FORMAT [libFuzzer flags]
    .venv/bin/python tests/fuzz/fuzz_parsers.py hf-papers-html -atheris_runs=2000
    .venv/bin/python tests/fuzz/fuzz_parsers.py hf-papers-html -max_total_time=600
    PAPERFLOW_FUZZ_FORMAT=arxiv-api-atom .venv/bin/python tests/fuzz/fuzz_parsers.py -runs=500
    .venv/bin/python tests/fuzz/fuzz_parsers.py --list

The target is the parse contract: any bytes in -> a ListingPage or a ParseError; anything else
escaping (or a segfault, or a hang past `-timeout=N`) is a finding. Each run starts from a seed
corpus: the recorded fixtures the format's sniffer recognises (plus the JSON fixtures for the
API formats, and `tests/fixtures/hostile/regressions/FORMAT/`). libFuzzer writes a crashing
input to `./crash-<sha1>`: commit it as `tests/fixtures/hostile/regressions/FORMAT/<name>` so
the smoke test replays it forever.

atheris is a dev-only tool (never a runtime dependency); this module imports it only in
`main`, so the tests can import `target`, `seed_corpus` and `FORMAT_NAMES` without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from parsers import FORMATS, detect_format  # noqa: E402
from parsers.errors import ParseError  # noqa: E402
from parsers.records import ListingPage  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
REGRESSIONS = FIXTURES / "hostile" / "regressions"
SAMPLES = ROOT / "flows" / "demo_site" / "samples"
FORMAT_NAMES = tuple(sorted(FORMATS))
FETCHED_AT = datetime(2026, 5, 8, 12, 0, tzinfo=UTC)
URLS = {
    "arxiv-api-atom": "https://export.arxiv.org/api/query?search_query=cat:cs.CL&start=0",
    "arxiv-list-html": "https://arxiv.org/list/cs.LG/new",
    "hf-papers-html": "https://huggingface.co/papers/date/2026-05-08",
    "hf-papers-api": "https://huggingface.co/api/daily_papers?date=2026-05-08",
    "scholarfeed-api": "https://api.scholarfeed.org/api/v1/public/authors/a1/papers",
}
# Formats with no recorded fixture get a hand-made seed (shape as in test_scholarfeed.py).
EXTRA_SEEDS = {
    "scholarfeed-api": [
        b'{"papers":[{"arxiv_id":"2307.02480","title":"Paper 0","authors":["Ana Ruiz","Bo Chen"],'
        b'"published_date":"2023-07-05","categories":["cs.CL","cs.LG"],"primary_category":"cs.CL",'
        b'"has_code":true,"github_url":"https://github.com/x/y","institution_tags":["msr"]}],'
        b'"total":5,"page":1,"limit":2,"next_cursor":"abc"}'
    ],
}
MAX_SEED_BYTES = 200_000  # keep seeds small: libFuzzer mutates better, runs stay fast


class Finding(AssertionError):
    """The parser broke its contract: something other than ListingPage or ParseError."""


def url_for(fmt: str) -> str:
    return URLS.get(fmt, f"https://example.org/{fmt}")


def target(fmt: str) -> Callable[[bytes], None]:
    """The fuzz target for `fmt`: parse the bytes; only ListingPage or ParseError may result."""
    parse = FORMATS[fmt].parse
    url = url_for(fmt)

    def one_input(data: bytes) -> None:
        try:
            page = parse(data, url=url, fetched_at=FETCHED_AT)
        except ParseError:
            return
        if not isinstance(page, ListingPage):
            raise Finding(f"{fmt} returned {type(page).__name__}, not ListingPage")

    return one_input


def _candidates() -> list[Path]:
    files = [
        p
        for p in sorted(FIXTURES.rglob("*"))
        if p.is_file()
        and p.suffix not in {".py", ".pyc", ".md"}
        and "golden" not in p.parts
        and "regressions" not in p.parts
        and p.stat().st_size <= MAX_SEED_BYTES
    ]
    return files + sorted(SAMPLES.glob("*.txt"))


def seed_corpus(fmt: str) -> list[bytes]:
    """Seeds for `fmt`: fixtures its sniffer recognises, JSON fixtures for API formats, and the
    committed regressions. Never empty (falls back to a few of every fixture)."""
    files = _candidates()
    chosen = [p for p in files if detect_format(p.read_bytes()) == fmt]
    if fmt.endswith("-api"):
        chosen += [p for p in files if p.suffix == ".json"]
    if not chosen:
        chosen = files[::4]
    seen: dict[bytes, None] = dict.fromkeys(EXTRA_SEEDS.get(fmt, []))
    for path in (*chosen, *regressions(fmt)):
        seen.setdefault(path.read_bytes(), None)
    return list(seen)


def regressions(fmt: str) -> list[Path]:
    folder = REGRESSIONS / fmt
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []


def instrument_parsers() -> int:
    """Give atheris coverage feedback from our parser code, and only from it.

    `instrument_imports` misses the submodules `parsers/__init__` imports from a function, and
    `instrument_all` spends a minute on every loaded library; so patch the functions defined in
    `parsers.*` (nested functions and comprehensions come along). selectolax, orjson and expat
    are native code and stay uninstrumented.
    """
    import gc
    import types

    import atheris

    count = 0
    for obj in gc.get_objects():
        module = getattr(obj, "__module__", None)
        if (
            isinstance(obj, types.FunctionType)
            and isinstance(module, str)
            and (module == "parsers" or module.startswith("parsers."))
        ):
            atheris.instrument_func(obj)
            count += 1
    return count


def main(argv: list[str]) -> None:
    args = argv[1:]
    if "--list" in args:
        print("\n".join(FORMAT_NAMES))
        return
    fmt = os.environ.get("PAPERFLOW_FUZZ_FORMAT")
    if args and not args[0].startswith("-"):
        fmt = args.pop(0)
    if fmt not in FORMATS:
        sys.exit(f"usage: fuzz_parsers.py FORMAT [libFuzzer flags]; FORMAT is one of "
                 f"{', '.join(FORMAT_NAMES)} (or set PAPERFLOW_FUZZ_FORMAT)")  # fmt: skip

    corpus_dirs = [a for a in args if not a.startswith("-")]
    if corpus_dirs:  # the caller's corpus: seed it and keep what libFuzzer adds
        _seed_into(Path(corpus_dirs[0]), fmt)
        sys.exit(_fuzz(fmt, args))
    # libFuzzer adds to its corpus directory and exits the process when done, so fuzz in a
    # child with a scratch corpus and remove that afterwards.
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{fmt}-"))
    try:
        _seed_into(corpus, fmt)
        code = subprocess.call([sys.executable, __file__, fmt, *args, str(corpus)])  # noqa: S603
    finally:
        shutil.rmtree(corpus, ignore_errors=True)
    sys.exit(code)


def _seed_into(corpus: Path, fmt: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seed_corpus(fmt)):
        (corpus / f"seed-{i:03d}").write_bytes(seed)


def _fuzz(fmt: str, args: list[str]) -> int:
    try:
        import atheris  # dev-only, never a runtime dependency (docs/reliability.md)
    except ImportError:
        print("atheris is not installed: .venv/bin/pip install atheris (dev only)", file=sys.stderr)
        return 2
    print(f"INFO: instrumented {instrument_parsers()} functions in parsers.*", file=sys.stderr)
    atheris.Setup([sys.argv[0], *args], target(fmt))
    atheris.Fuzz()  # exits the process
    return 0


if __name__ == "__main__":
    main(sys.argv)
