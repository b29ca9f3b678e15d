"""Speed figures, as ratios against baselines run in the same command (not a test).

    .venv/bin/python benchmarks/speed.py [--model models/triage.json]

- `triage --help` wall time against starting Python itself (`python -c pass`);
- loading the model against importing scikit-learn's Pipeline (the floor of any load);
- predicting the five seed articles against ingesting them alone;
- paragraphs per second of `predict_paragraphs`.
Each timing is the median of several runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def median_call(function, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models/triage.json"))
    args = parser.parse_args()
    triage_bin = str(Path(sys.executable).with_name("triage"))

    python_start = median_seconds([sys.executable, "-c", "pass"])
    help_time = median_seconds([triage_bin, "--help"])
    print(
        f"triage --help            {help_time * 1000:7.0f} ms  = {help_time / python_start:4.1f} x python startup ({python_start * 1000:.0f} ms)"
    )

    import_floor = median_seconds([sys.executable, "-c", "import sklearn.pipeline"])
    load_time = median_seconds([sys.executable, "-c", f"import triage; triage.load_model({args.model!r})"])
    print(
        f"load model (process)     {load_time * 1000:7.0f} ms  = {load_time / import_floor:4.1f} x importing sklearn.pipeline ({import_floor * 1000:.0f} ms)"
    )

    import triage
    from triage.ingestion.article import ingest

    model = triage.load_model(args.model)
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "data/raw").glob("*.txt"))]
    ingest_time = median_call(lambda: [ingest(text) for text in texts])
    predict_time = median_call(lambda: [model.predict_article(text) for text in texts])
    print(
        f"predict 5 seed articles  {predict_time * 1000:7.0f} ms  = {predict_time / ingest_time:4.0f} x ingesting them alone ({ingest_time * 1000:.1f} ms)"
    )

    paragraphs = [p for text in texts for p in ingest(text).texts] * 10
    batch_time = median_call(lambda: model.predict_paragraphs(paragraphs), runs=3)
    print(
        f"predict_paragraphs       {len(paragraphs) / batch_time:7.0f} paragraphs/s ({len(paragraphs)} paragraphs in {batch_time:.2f} s)"
    )


if __name__ == "__main__":
    main()
