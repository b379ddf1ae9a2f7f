"""Every parser's fuzz target, briefly, so `make test` always exercises it (tests/fuzz/fuzz_parsers.py).

With atheris installed (dev only) each target runs 300 coverage-guided inputs in a subprocess;
without it, the same target function gets its seed corpus plus 500 seeded random mutations in
plain Python. Either way the committed regressions under tests/fixtures/hostile/regressions/
are replayed. Longer runs: docs/reliability.md "Property tests and fuzzing".
"""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.fuzz_parsers import FORMAT_NAMES, regressions, seed_corpus, target

HARNESS = Path(__file__).resolve().parent / "fuzz_parsers.py"
HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None
RUNS = 300
MUTATIONS = 500
TOKENS = [
    b"<", b">", b"</div>", b"<div>", b'"', b"&quot;", b"&", b"{", b"}", b"[", b"]", b"\x00",
    b"\xff", b"\xef\xbb\xbf", b"<!--", b"-->", b"<![CDATA[", b"<!DOCTYPE x [", b"\\", b"$",
    b"\n", b"\r\n", b"2605.05242v2", b"null", b"-1", b"99999999999999999999", b"\xc3\xa9",
]  # fmt: skip


# Findings not fixed yet (the parser owner's): their regression files are replayed as strict
# xfails, so a fix is noticed, and fuzzing their format may hit them again. Remove on fixing.
OPEN_FINDINGS: dict[str, str] = {}


def _params() -> list[object]:
    return [
        pytest.param(fmt, marks=pytest.mark.xfail(reason=OPEN_FINDINGS[fmt], strict=False))
        if fmt in OPEN_FINDINGS
        else fmt
        for fmt in FORMAT_NAMES
    ]


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """One libFuzzer-like mutation: flips, inserts, erasures, token splices, crossovers."""
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at:at] = rng.choice(TOKENS)
        elif op == 2:
            del data[at : at + rng.randint(1, 64)]
        elif op == 3:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            data[at:] = other[start : start + rng.randint(0, 4096)]
        elif op == 5:
            del data[at:]  # truncation
        else:
            chunk = data[at : at + rng.randint(1, 256)]
            data[at:at] = chunk * rng.randint(1, 8)
    return bytes(data)


@pytest.mark.parametrize("fmt", _params())
def test_target_holds_on_seeds_and_mutations(fmt: str) -> None:
    one_input = target(fmt)
    seeds = seed_corpus(fmt)
    assert seeds, f"no seed corpus for {fmt}"
    for seed in seeds:
        one_input(seed)
    rng = random.Random(f"paperflow-fuzz-{fmt}")
    for _ in range(MUTATIONS):
        data = mutate(rng, seeds)
        try:
            one_input(data)
        except Exception as exc:
            name = f"{fmt}-{abs(hash(data)) % 10**8:08d}.bin"
            raise AssertionError(
                f"{fmt}: {type(exc).__name__}: {exc}; commit the input as "
                f"tests/fixtures/hostile/regressions/{fmt}/{name} ({len(data)} bytes, "
                f"starts {data[:80]!r})"
            ) from exc


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=f"{fmt}/{path.name}",
            marks=[pytest.mark.xfail(reason=OPEN_FINDINGS[fmt], strict=True)]
            if fmt in OPEN_FINDINGS
            else [],
        )
        for fmt in FORMAT_NAMES
        for path in regressions(fmt)
    ],
)
def test_regressions_stay_fixed(path: Path) -> None:
    target(path.parent.name)(path.read_bytes())


@pytest.mark.skipif(not HAVE_ATHERIS, reason="atheris not installed (dev only)")
@pytest.mark.parametrize("fmt", _params())
def test_atheris_runs_briefly(fmt: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(HARNESS), fmt, f"-atheris_runs={RUNS}", "-timeout=20",
         f"-artifact_prefix={tmp_path}/", "-print_final_stats=0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = sorted(p.name for p in tmp_path.iterdir())
    assert result.returncode == 0, (
        f"{fmt}: fuzzer exit {result.returncode}, artifacts {found}\n{result.stderr[-3000:]}"
    )
    assert f"Done {RUNS} " in result.stderr
