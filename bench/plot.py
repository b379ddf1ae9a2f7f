"""Draw docs/bench_pipeline.png from results.json (runs in bench/.venv-peers: matplotlib).

python -m bench.plot bench/out/results.json docs/bench_pipeline.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw(results: Path, target: Path) -> None:
    data = json.loads(results.read_text())
    runs = data["runs"] + data["reruns"]
    systems = list(dict.fromkeys(r["system"] for r in runs))
    fig, (wall_ax, mem_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system in systems:
        rs = sorted((r for r in runs if r["system"] == system), key=lambda r: r["pages"])
        pages = [r["pages"] for r in rs]
        style = "--" if "re-run" in system else "-"
        wall_ax.plot(pages, [r["wall_s"] for r in rs], style, marker="o", label=system)
        mem_ax.plot(pages, [r["peak_rss_mb"] for r in rs], style, marker="o", label=system)
    for ax, label in ((wall_ax, "wall time (s)"), (mem_ax, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("HF day pages")
        ax.set_ylabel(label)
        ax.set_xticks([r["pages"] for r in data["runs"] if r["system"] == "floor"])
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    wall_ax.legend(fontsize=8)
    fig.suptitle(f"paperflow vs floor vs peers ({data['machine']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    draw(Path(sys.argv[1]), Path(sys.argv[2]))
