"""Resolution keys that are pure functions of one entry's values: no database, no clock.

Kept apart from `warehouse.resolve` (which reads the warehouse) so the parse workers can
compute an entry's blocking keys while staging it, on both cores, instead of the load doing
it for every row afterwards.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence

SKETCH_K = 16
JACCARD_MIN = 0.5
CONTAINMENT_MIN = 0.8
TITLE_SIM_MIN = 0.85
TITLE_MIN_CHARS = 12
BLOCK_AUTHORS = 3
BLOCK_CHARS = 5

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


def surname(name: str) -> str:
    """Last word of a name, accent- and case-folded (`José Núñez` -> `nunez`)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words: list[str] = _WORD.findall(folded) or _WORD.findall(name.casefold())
    return words[-1] if words else ""


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def shingles(text: str | None) -> frozenset[int]:
    """Hashes of the word 3-shingles of `text` (lower-cased words).

    CRC-32 (C speed, stable across processes, unlike `hash`) is plenty here: a collision can
    only add a candidate, which the exact shingle comparison then rejects.
    """
    if not text:
        return frozenset()
    words = _WORD.findall(text.casefold())
    if len(words) < 3:
        return frozenset({zlib.crc32(" ".join(words).encode())})
    grams = map(" ".join, zip(words, words[1:], words[2:], strict=False))
    return frozenset(map(zlib.crc32, map(str.encode, grams)))  # map: no Python frame per gram


def sketch(sh: frozenset[int]) -> list[int]:
    """Bottom-k MinHash sketch: the k smallest shingle hashes."""
    return sorted(sh)[:SKETCH_K]


def similar_abstracts(a: frozenset[int], b: frozenset[int]) -> float:
    """Score in [0, 1]; non-zero only when one abstract is a light rewording of the other."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    jaccard = inter / len(a | b)
    containment = inter / min(len(a), len(b))
    if jaccard >= JACCARD_MIN or containment >= CONTAINMENT_MIN:
        return max(jaccard, containment)
    return 0.0


def compact(title_key: str | None) -> str:
    return (title_key or "").replace(" ", "")


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(max(len(text) - 2, 1)))


_VERSION_WORD = re.compile(r"^(?:v\d+|[a-z]|[ivx]+|\d\w*|plus|pro|mini|lite|next|xl|large|base)$")


def similar_titles(a: str | None, b: str | None) -> float:
    """Similarity of two title keys' compact forms: trigram Dice, or 1 - (edit distance with
    transpositions) / length for short titles where one typo moves Dice a lot. 0 when either
    is too short to judge or when they differ in a number or a version-like word (`Kosmos-2`
    vs `Kosmos-2.5`, `BEiT` vs `BEiT v2`, `Kosmos-G`), a count word (`Part Two`, `Few-Shot`
    vs `Zero-Shot`) or a negation (`with` / `without`, `Unsupervised`): look-alikes of
    different papers. Titles equal but for spacing (and with the same numbers) are never
    told apart that way."""
    ca, cb = compact(a), compact(b)
    if min(len(ca), len(cb)) < TITLE_MIN_CHARS or _versions_differ(a or "", b or ""):
        return 0.0
    ta, tb = _trigrams(ca), _trigrams(cb)
    dice = 2 * len(ta & tb) / (len(ta) + len(tb))
    if dice >= TITLE_SIM_MIN:
        return dice
    if dice < 0.5:
        return 0.0
    edit = 1 - _osa(ca, cb) / max(len(ca), len(cb))
    return edit if edit >= 0.9 else 0.0


# Words that make a look-alike title another paper's: numbers spelled out (`… Part Two`),
# quantities (`Few-Shot` / `Zero-Shot`) and negations (`with` / `without`, `non-linear`).
_COUNT_WORD = re.compile(
    r"^(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|first|second"
    r"|third|fourth|fifth|single|double|triple|few|many|multi|half)$"
)
_NEGATING = frozenset({"without", "not", "no", "non", "un", "self", "semi", "weakly"})
_NEGATING_PREFIXES = ("un", "non", "in", "im", "ir", "il", "dis")


def _versions_differ(a: str, b: str) -> bool:
    # Numbers first: a title key has lost the punctuation inside them, so `1.5` and `15`
    # (`1 5` / `15`) differ here, and so, at the price of a missed join, do `1,000` / `1000`.
    if _DIGITS.findall(a) != _DIGITS.findall(b):
        return True
    if compact(a) == compact(b):  # `kosmos g` / `kosmosg`: spacing is not a word
        return False
    wa, wb = set(a.split()), set(b.split())
    if any(_VERSION_WORD.match(w) for w in wa ^ wb):
        return True
    only_a, only_b = wa - wb, wb - wa
    if _telling(only_a, only_b) or _telling(only_b, only_a):
        return True
    return any(_negates(x, y) for x in only_a for y in only_b)


def _telling(words: set[str], others: set[str]) -> bool:
    """A count or negating word of one title that the other lacks, and not as a typo (`fwe`
    for `few` is the same title mistyped, `zero` for `few` another paper)."""
    return any(
        (w in _NEGATING or _COUNT_WORD.match(w))
        and not any(w in o or _osa(w, o) <= 1 for o in others)
        for w in words
    )


def _negates(x: str, y: str) -> bool:
    """`unsupervised` / `supervised`, `unpaired` / `paired`, `nonlinear` / `linear`."""
    longer, shorter = (x, y) if len(x) > len(y) else (y, x)
    return any(longer == p + shorter for p in _NEGATING_PREFIXES)


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def title_blocks(title_key: str | None, surnames_in_order: Sequence[str]) -> list[int]:
    """Blocking keys for similar_title: (surname of one of the first authors) × (first or last
    few characters of the compact title). Two spellings of one title by one team share one."""
    text = compact(title_key)
    if len(text) < TITLE_MIN_CHARS:
        return []
    names = [s for s in surnames_in_order if s][:BLOCK_AUTHORS]
    ends = (text[:BLOCK_CHARS], text[-BLOCK_CHARS:])
    return sorted({_h64(f"{name}|{i}|{end}") for name in names for i, end in enumerate(ends)})
