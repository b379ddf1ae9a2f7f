"""Generate the static Hugging Face Papers sample site served by `paperflow demo`.

    python -m flows.demo_site.make_site        (or run this file directly)

Writes five day pages (2026-05-04 .. 2026-05-08), the week page 2026-W19 (the week's most
upvoted papers, with later upvote counts) and the month page 2026-05 (even later counts), plus
`manifest.json` mapping each URL path to its file. Papers are invented from word lists with a
fixed seed, so the output is byte-identical on every run.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parents[1]))  # run as a script: make `flows` importable

from flows.demo_site.pagegen import (  # noqa: E402
    Org,
    Paper,
    daily_papers_page,
    day_heading,
    item_json,
    props_json,
)

SEED = 20260504
DAYS = [date(2026, 5, 4) + timedelta(days=i) for i in range(5)]  # Mon..Fri of ISO week 19
WEEK = "2026-W19"
MONTH = "2026-05"
WEEK_SIZE = 25

FIRST = (
    "Ana Bo Chen Dmitri Elif Fatima Gabriel Hana Ivan Jia Kofi Lena Mateo Nadia Omar Priya "
    "Qiang Rosa Sven Tariq Uma Viktor Wen Xinyi Yara Zoltán Aarav Chloé Hyun-woo Jiří Søren"
).split()
LAST = (
    "Ruiz Chen Petrov Yılmaz Haddad Moreau Tanaka Kowalski Zhang Mensah Fischer Rossi Novak "
    "Okafor Gupta Liu Andersson Silva Kim Nguyen Dubois Schmidt Wang Ivanova Park Müller Singh "
    "García Hoffmann Lindqvist"
).split()
ORGS = [
    Org("nvidia", "NVIDIA"),
    Org("Qwen", "Qwen"),
    Org("allenai", "Ai2"),
    Org("google", "Google"),
    Org("facebook", "AI at Meta"),
    Org("TIGER-Lab", "TIGER-Lab"),
    Org("mistralai", "Mistral AI"),
    Org("stanford-crfm", "Stanford CRFM"),
    Org("deepseek-ai", "DeepSeek"),
    Org("HuggingFaceTB", "Hugging Face Smol Models Research"),
]
SYLLABLES = "Ar Bel Cor Dex Ento Flux Gra Hel Iso Jet Ky Lum Mo Nex Or Pix Quo Ro Syn Tri Vo Zen"
NOUNS = [
    "Reasoning",
    "Retrieval",
    "Tool Use",
    "Video Generation",
    "Speech Synthesis",
    "Code Repair",
    "Theorem Proving",
    "Robot Manipulation",
    "Document Understanding",
    "Preference Optimization",
    "Long-Context Modeling",
    "Image Editing",
    "3D Reconstruction",
    "Web Agents",
    "Protein Design",
]
METHODS = [
    "Sparse Mixture-of-Experts",
    "Diffusion Transformers",
    "Reinforcement Learning from Verifiable Rewards",
    "State Space Models",
    "Speculative Decoding",
    "Test-Time Scaling",
    "Self-Distillation",
    "Process Reward Models",
    "Linear Attention",
    "Curriculum Synthesis",
]
TEX_TITLES = [
    r"$\mathcal{O}(n)$ Attention for {noun}: Fast and Exact",
    r"Provably $\sqrt{T}$-Regret Exploration for {noun}",
    r"$\pi_0$-Style Flow Policies Meet {noun}",
    r"$\epsilon$-Greedy Is Not Enough: Exploration in {noun}",
    r"Learning {noun} with $k$-Sparse Autoencoders",
]
TITLE_SHAPES = [
    "{name}: {method} for {noun}",
    "Scaling {noun} with {method}",
    "{name}: An Open Benchmark for {noun}",
    "When Does {method} Help {noun}?",
    "Rethinking {noun} through the Lens of {method}",
    "{name}-{n}B: A Compact Model for {noun}",
    "Beyond Next-Token Prediction: {method} in {noun}",
]
ABSTRACT = [  # one sentence is picked per slot
    [
        "{noun} remains a central challenge for large models, and existing approaches "
        "trade accuracy for cost.",
        "Progress in {noun} is limited by the scarcity of high-quality supervision.",
        "Recent systems for {noun} scale poorly beyond short inputs.",
    ],
    [
        "We introduce {name}, which builds on {method} to close this gap.",
        "In this work we propose {name}, a simple recipe based on {method}.",
        "We present {name}, combining {method} with a lightweight verifier.",
    ],
    [
        "Our approach {verb} the model's intermediate states and requires no additional labels.",
        "The method {verb} candidate outputs at inference time and adds under 5% latency.",
        "",
    ],
    [
        "Across {k} benchmarks, {name} improves over strong baselines by {gain} points on average "
        "while reducing compute by {cut}%.",
        "On {k} public benchmarks {name} matches models {cut}x larger and gains {gain} points.",
    ],
    [
        "We further analyse failure cases and find that most errors stem from {cause}.",
        "Ablations show that the gains are robust to {cause}.",
        "",
    ],
    ["Code, data and checkpoints are publicly released.", "", "Models are available on the Hub."],
]
VERBS = ["reuses", "regularizes", "compresses", "verifies", "aligns", "re-ranks"]
CAUSES = [
    "ambiguous instructions",
    "distribution shift at test time",
    "overconfident intermediate steps",
    "tokenization artifacts",
    "missing world knowledge",
]
KEYWORDS = [
    "large language models",
    "reinforcement learning",
    "benchmark",
    "mixture-of-experts",
    "diffusion models",
    "multimodal",
    "agents",
    "reward models",
    "long context",
    "distillation",
    "retrieval-augmented generation",
    "chain-of-thought",
]


def coined_name(rng: random.Random) -> str:
    """A method name like `Luminex` or `SynFlux`."""
    parts = SYLLABLES.split()
    return "".join(rng.sample(parts, 2)) + rng.choice(["", "er", "a", "-R1", "LM", "Bench"])


def make_title(rng: random.Random, name: str, noun: str) -> str:
    if rng.random() < 0.08:
        return rng.choice(TEX_TITLES).replace("{noun}", noun)
    shape = rng.choice(TITLE_SHAPES)
    return shape.format(name=name, noun=noun, method=rng.choice(METHODS), n=rng.choice([1, 3, 7]))


def make_abstract(rng: random.Random, name: str, noun: str) -> str:
    sentences = [rng.choice(options) for options in ABSTRACT]
    text = " ".join(s for s in sentences if s).format(
        noun=noun,
        name=name,
        method=rng.choice(METHODS).lower(),
        verb=rng.choice(VERBS),
        k=rng.randint(3, 12),
        gain=round(rng.uniform(1.5, 12.0), 1),
        cut=rng.randint(10, 60),
        cause=rng.choice(CAUSES),
    )
    return text.replace(". ", ".\n", 1)  # HF summaries keep arXiv's line breaks


def make_paper(rng: random.Random, arxiv_id: str, day: date) -> Paper:
    name, noun = coined_name(rng), rng.choice(NOUNS)
    authors = tuple(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 9)))
    org = rng.choice(ORGS) if rng.random() < 0.45 else None
    repo = f"https://github.com/{(org.name if org else 'open-' + name.lower())}/{name}"
    has_repo = rng.random() < 0.5
    return Paper(
        arxiv_id=arxiv_id,
        title=make_title(rng, name, noun),
        summary=make_abstract(rng, name, noun),
        authors=tuple(dict.fromkeys(authors)),
        published=day - timedelta(days=rng.choice([1, 2, 3])),
        submitted_at=datetime.combine(day, datetime.min.time())
        + timedelta(seconds=rng.randint(3600, 20 * 3600), microseconds=rng.randint(0, 999) * 1000),
        upvotes=int(rng.paretovariate(1.3) * 4),
        submitter=authors[0],
        num_comments=rng.randint(0, 6),
        github_repo=repo if has_repo else None,
        github_stars=rng.randint(3, 900) if has_repo else None,
        organization=org,
        ai_summary=f"{name} applies {rng.choice(METHODS).lower()} to {noun.lower()}.",
        ai_keywords=tuple(rng.sample(KEYWORDS, rng.randint(0, 5))),
        claimed_authors=tuple(i for i in range(len(authors)) if rng.random() < 0.2),
    )


def make_days(rng: random.Random) -> dict[date, list[Paper]]:
    """8-15 papers per day with unique 2605.0xxxx ids, most upvoted first."""
    ids = iter(f"2605.{n:05d}" for n in sorted(rng.sample(range(1000, 9999), 80)))
    days = {}
    for day in DAYS:
        papers = [make_paper(rng, next(ids), day) for _ in range(rng.randint(8, 15))]
        days[day] = sorted(papers, key=lambda p: (-p.upvotes, p.arxiv_id))
    return days


def later(rng: random.Random, paper: Paper, days_after: int) -> Paper:
    """The paper's upvotes some days on: popular papers keep gaining."""
    gain = int(paper.upvotes * rng.uniform(0.1, 0.4) * days_after) + rng.randint(0, days_after)
    return replace(paper, upvotes=paper.upvotes + gain)


def ranked(papers: list[Paper]) -> list[Paper]:
    return sorted(papers, key=lambda p: (-p.upvotes, p.arxiv_id))


def build(out: Path = HERE) -> dict[str, str]:
    """Write every page under `out`; return the manifest (URL path -> relative file)."""
    rng = random.Random(SEED)  # noqa: S311 - sample data, not security
    days = make_days(rng)
    manifest: dict[str, str] = {}
    for index, (day, papers) in enumerate(days.items()):
        prev = DAYS[index - 1].isoformat() if index else "2026-05-01"
        props = props_json(
            date_string=day.isoformat(), items=[item_json(p) for p in papers], prev_date=prev
        )
        path = f"/papers/date/{day.isoformat()}"
        html = daily_papers_page(path=path, props=props, heading=day_heading(day))
        manifest[path] = _write(out, f"papers/date/{day.isoformat()}.html", html)
    everything = [p for papers in days.values() for p in papers]
    week_all = [later(rng, p, 3) for p in everything]  # counts as seen on the week page
    week = ranked(week_all)[:WEEK_SIZE]
    manifest[f"/papers/week/{WEEK}"] = _period_page(out, "week", WEEK, week, "2026-W18")
    month = ranked([later(rng, p, 7) for p in week_all])  # later still: never below the week
    manifest[f"/papers/month/{MONTH}"] = _period_page(out, "month", MONTH, month, "2026-04")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _period_page(out: Path, period: str, label: str, papers: list[Paper], prev: str) -> str:
    props = props_json(
        date_string=label, items=[item_json(p) for p in papers], period=period, prev_date=prev
    )
    heading = f"{'Weekly' if period == 'week' else 'Monthly'} Papers — {label}"
    html = daily_papers_page(path=f"/papers/{period}/{label}", props=props, heading=heading)
    return _write(out, f"papers/{period}/{label}.html", html)


def _write(out: Path, relative: str, text: str) -> str:
    target = out / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return relative


if __name__ == "__main__":
    for url_path, file in build().items():
        print(f"{url_path} -> {file}")
