"""One table and one plot over several runs of ``bench_page_load.py`` (issue #17).

Each run of the page-load benchmark measures one topology, asset set, bandwidth and view
time and writes ``results/page_load-TOPOLOGY-ASSETS-MBPSmbit-viewMS.csv``. This script
reads the raw loads of the runs named on the command line (default: every such file in
``results/``) and writes ``results/page_load-summary.md`` (per run and scenario: the
median time until the late-discovered resources are ready, as a ratio to ``cached`` and
to ``none`` of the same run, and the HTML's median ``responseEnd``) and
``results/page_load-summary.png`` (the medians as bars, one panel per run). Ratios are
only ever taken within one run: runs happen at different times on a shared machine.

Run from the repository root, after the benchmark runs::

    python tests/benchmarks/summarize_page_load.py [results/page_load-....csv ...]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
NAME = re.compile(
    r"page_load-(?P<topology>[a-z]+)-(?P<assets>[a-z]+)-(?P<mbps>[\d.]+)mbit-view(?P<view>[\d.]+)"
)
#: Columns of the summary, in this order, when the run has them.
CONFIGS = ("none", "link", "103+link", "103 deployed", "103 budget", "reference", "cached")


def label(path: Path) -> str:
    match = NAME.fullmatch(path.stem)
    if match is None:
        return path.stem
    bandwidth = f"{match['mbps']} Mbit/s" if float(match["mbps"]) else "no limit"
    return f"{match['topology']}, {match['assets']}, {bandwidth}, view {match['view']} ms"


def medians(path: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(scenario, config) -> (median ready ms, median HTML responseEnd ms)."""
    ready: dict[tuple[str, str], list[float]] = defaultdict(list)
    html: dict[tuple[str, str], list[float]] = defaultdict(list)
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            key = (row["scenario"], row["config"])
            ready[key].append(float(row["ready_ms"]))
            html[key].append(float(row["html_ms"]))
    return {key: (statistics.median(ready[key]), statistics.median(html[key])) for key in ready}


def table(runs: dict[Path, dict[tuple[str, str], tuple[float, float]]]) -> list[str]:
    lines = [
        "| run | scenario | configuration | ready ms | / none | / cached | HTML responseEnd ms |",
        "|---|---|---|--:|--:|--:|--:|",
    ]
    for path, found in runs.items():
        for scenario in ("cold", "open"):
            none, cached = found.get((scenario, "none")), found.get((scenario, "cached"))
            for config in CONFIGS:
                value = found.get((scenario, config))
                if value is None:
                    continue
                to_none = f"{value[0] / none[0]:.2f}" if none else ""
                to_cached = f"{value[0] / cached[0]:.2f}" if cached else ""
                lines.append(
                    f"| {label(path)} | {scenario} | {config} | {value[0]:.0f} | {to_none} "
                    f"| {to_cached} | {value[1]:.0f} |"
                )
    return lines


def plot(runs: dict[Path, dict[tuple[str, str], tuple[float, float]]], output: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display here
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(
        len(runs), 1, figsize=(11, 2.6 * len(runs) + 0.6), sharex=True, squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (path, found) in zip(axes[:, 0], runs.items(), strict=True):
        names = [c for c in CONFIGS if any((s, c) in found for s in ("cold", "open"))]
        for offset, scenario in ((-0.2, "cold"), (0.2, "open")):
            positions = [i + offset for i, c in enumerate(names) if (scenario, c) in found]
            ready = [found[(scenario, c)][0] for c in names if (scenario, c) in found]
            html = [found[(scenario, c)][1] for c in names if (scenario, c) in found]
            color = colors[0] if scenario == "cold" else colors[1]
            ax.barh(
                positions, ready, height=0.38, color=color, alpha=0.8, label=f"{scenario}: ready"
            )
            ax.scatter(html, positions, marker="|", s=150, color="black", zorder=3,
                       label="HTML responseEnd" if scenario == "cold" else None)  # fmt: skip
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_title(label(path), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xlabel(
        "median ms from navigation start until the font and the import() module are ready"
    )
    figure.tight_layout()
    figure.savefig(output, dpi=100)
    plt.close(figure)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="*", type=Path, help="runs' raw loads (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    paths = args.csv or sorted(RESULTS.glob("page_load-*mbit-view*.csv"))
    if not paths:
        parser.error(f"no runs found in {RESULTS}")
    runs = {path: medians(path) for path in paths}
    plotted = plot(runs, args.output / "page_load-summary.png")
    text = "\n".join(
        [
            "# Page load over several runs (issue #17)",
            "",
            "Medians of each run's loads (see each run's own `.md` for the method, the spread "
            "and the targets); ratios within one run only.",
            "",
            *table(runs),
            "",
            "Plot: `page_load-summary.png`"
            + ("" if plotted else " (not drawn: no matplotlib)")
            + ".",
        ]
    )
    (args.output / "page_load-summary.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
