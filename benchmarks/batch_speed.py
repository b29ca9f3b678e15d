"""Batch speed and memory, as ratios measured in one run (not a test).

    .venv/bin/python benchmarks/batch_speed.py [--rows 200000] [--stream-rows 1000000]

The texts never repeat: paragraphs made by recombining sentences of the labelled set with a
seeded generator (a repeated corpus would flatter any cache). Printed:

- the textbook word (1,2)-gram TF-IDF + logistic regression, fitted on the same rows as our
  model, predict_proba on the texts in memory;
- our floor: the loaded model's pipeline, predict_proba on the same list (target >= 0.4x
  the textbook);
- `triage predict FILE.jsonl --unit paragraph -o OUT.jsonl` end to end with --jobs 1
  (target >= 0.9x the floor) and --jobs 2 (>= 1.6x), and a naive loop of one call per row;
- one paragraph end to end against importing what loading needs (target <= 1.3x);
- peak RSS of streaming `--stream-rows` paragraphs from JSON lines to JSON lines (< 400 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
LOAD_IMPORTS = (
    "import typer, numpy, scipy.sparse, sklearn.pipeline, sklearn.linear_model, "
    "sklearn.feature_extraction.text, skops.io"
)


def sentences_of_labelled_set() -> list[str]:
    from triage.corpus import load_labeled

    texts = load_labeled(ROOT / "data/labeled")["text"]
    found = {s.strip() for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4}
    return sorted(found)


def recombined_paragraphs(count: int, seed: int = 0) -> list[str]:
    """`count` distinct paragraphs of 2-5 sentences drawn with a seeded generator."""
    sentences = sentences_of_labelled_set()
    rng = random.Random(seed)
    paragraphs: set[str] = set()
    ordered = []
    while len(ordered) < count:
        paragraph = " ".join(rng.sample(sentences, rng.randint(2, 5)))
        if paragraph not in paragraphs:
            paragraphs.add(paragraph)
            ordered.append(paragraph)
    return ordered


def write_jsonl(path: Path, paragraphs) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for i, text in enumerate(paragraphs):
            stream.write(json.dumps({"id": f"p{i}", "text": text}) + "\n")


def seconds(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def paired_medians(first: list[str], second: list[str], runs: int = 9) -> tuple[float, float]:
    """Median wall time of each command, the two run alternately."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for command, bucket in zip((first, second), times, strict=True):
            bucket.append(seconds(lambda c=command: subprocess.run(c, check=True, capture_output=True)))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models/triage.json"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    triage_bin = str(Path(sys.executable).with_name("triage"))

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import triage
    from triage.corpus import load_labeled
    from triage.training import training_rows

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    paragraphs = recombined_paragraphs(args.rows)
    assert len(set(paragraphs)) == len(paragraphs)
    model = triage.load_model(args.model)
    rows = training_rows(
        load_labeled(ROOT / "data/labeled"), include_authored=model.card["training"]["include_authored"]
    )
    textbook = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000))
    textbook.fit(list(rows["text"]), list(rows["label"]))

    textbook_rate = len(paragraphs) / seconds(lambda: textbook.predict_proba(paragraphs))
    floor_rate = len(paragraphs) / seconds(lambda: model.pipeline.predict_proba(paragraphs))
    naive = paragraphs[:2000]
    naive_rate = len(naive) / seconds(lambda: [model.predict_paragraphs([text]) for text in naive])

    table = [("textbook word (1,2)-gram TF-IDF + LR, predict_proba", textbook_rate, None)]
    table.append(("our floor: the loaded pipeline's predict_proba", floor_rate, 0.4 * textbook_rate))
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "feed.jsonl"
        write_jsonl(feed, paragraphs)
        for jobs, target in (("1", 0.9), ("2", 1.6)):
            out = Path(folder) / f"out{jobs}.jsonl"
            command = [triage_bin, "predict", str(feed), "--unit", "paragraph", "--model", args.model]
            took = seconds(lambda: subprocess.run([*command, "-o", str(out), "-j", jobs, "-q"], check=True))  # noqa: B023
            table.append(
                (f"triage predict end to end, --jobs {jobs}", len(paragraphs) / took, target * floor_rate)
            )
        same = (Path(folder) / "out1.jsonl").read_bytes() == (Path(folder) / "out2.jsonl").read_bytes()
        table.append(("naive loop: predict_paragraphs([text]) per row", naive_rate, None))

        print(f"\n{len(paragraphs):,} distinct paragraphs (recombined sentences, seed 0)")
        print(f"{'':55}{'paragraphs/s':>13}{'x floor':>9}{'x textbook':>12}  target")
        for name, rate, target in table:
            shown = f">= {target / floor_rate:.1f}x floor" if target and "floor:" not in name else ""
            if "floor:" in name:
                shown = ">= 0.4x textbook"
            print(f"{name:55}{rate:13,.0f}{rate / floor_rate:9.2f}{rate / textbook_rate:12.2f}  {shown}")
        print(f"--jobs 2 output identical to --jobs 1: {same}")

        one = Path(folder) / "one.txt"
        one.write_text(paragraphs[0] + "\n", encoding="utf-8")
        # interleaved pairs: the machine's drift hits both commands alike
        imports, single = paired_medians(
            [sys.executable, "-c", LOAD_IMPORTS],
            [triage_bin, "predict", str(one), "--unit", "paragraph", "--model", args.model, "-q"],
        )
        print(
            f"\none paragraph end to end {single:.2f} s = {single / imports:.2f}x importing what loading needs "
            f"({imports:.2f} s: {LOAD_IMPORTS.removeprefix('import ')})  target <= 1.3x"
        )

        big = Path(folder) / "big.jsonl"
        write_jsonl(big, recombined_paragraphs(args.stream_rows, seed=1))
        measured = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, triage_bin, "predict", str(big), "--unit", "paragraph",
             "--model", args.model, "-o", str(Path(folder) / "big-out.jsonl"), "-q"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        peak_mb, took = (float(value) for value in measured.stdout.split())
        print(
            f"{args.stream_rows:,} paragraphs streamed JSONL -> JSONL: peak RSS {peak_mb:.0f} MB "
            f"({args.stream_rows / took:,.0f} paragraphs/s)  target < 400 MB"
        )


PEAK_RSS = """
import resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - started)
"""


if __name__ == "__main__":
    main()
