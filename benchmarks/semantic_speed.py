"""What the semantic model costs beside the TF-IDF model, measured in one run (not a test).

    .venv/bin/python benchmarks/semantic_speed.py [--paragraphs 256] [--tfidf-model M --semantic-model M]

Without models given, both are trained into a temporary folder from the bundled data; the
semantic one reads the training rows' embeddings from the embedding cache
($TRIAGE_EMBEDDING_CACHE, else ~/.cache/triage/embeddings) and the run prints how many it
found there and how many it embedded. Then, per model: importing triage and loading the model
in a fresh process (median of 5, the two models alternately), and `triage predict` end to end
on distinct paragraphs never seen (1-2 sentences of the labelled set, about as long as
real-news paragraphs: nothing is cached at predict time), with `--unit paragraph` and `--unit article` (the
same paragraphs, six to an article), `--jobs 1` and `--jobs 2`: paragraphs per second of wall
time and per CPU second, and the peak RSS of the process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch_speed import sentences_of_labelled_set, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


# Wall time, CPU time and peak RSS of a command and its children: the machine is shared, so
# paragraphs per CPU second say what an idle core would do.
MEASURED = """
import resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss / 1024, time.perf_counter() - started, usage.ru_utime + usage.ru_stime)
"""

LOAD = "import sys, time; t = time.perf_counter(); import triage; triage.load_model(sys.argv[1]); print(time.perf_counter() - t)"
PER_ARTICLE = 6
TFIDF_SCALE = 50


def news_length_paragraphs(count: int, seed: int = 7) -> list[str]:
    """`count` distinct paragraphs of 1-2 sentences of the labelled set (about 250 characters,
    as long as the paragraphs of the real-news dev pages; batch_speed.py's 2-5 sentences are
    more than twice that, and the encoder's time grows with length)."""
    sentences = sentences_of_labelled_set()
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        found[" ".join(rng.sample(sentences, rng.randint(1, 2)))] = None
    return list(found)


def train_models(folder: Path) -> tuple[Path, Path, list[str]]:
    from triage.evaluation.training import CHOSEN_SETTINGS, SEMANTIC_SETTINGS, train

    messages: list[str] = []
    paths = []
    for name, settings in (("tfidf", CHOSEN_SETTINGS), ("semantic", SEMANTIC_SETTINGS)):
        path = folder / name / "triage.json"
        started = time.perf_counter()
        train(ROOT / "data/labeled", path, manifest_path=ROOT / "data/articles.csv", settings=settings,
              n_jobs=2, progress=messages.append)  # fmt: skip
        messages.append(f"trained the {name} model in {time.perf_counter() - started:.0f} s")
        paths.append(path)
    return paths[0], paths[1], messages


def write_articles(path: Path, paragraphs: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for start in range(0, len(paragraphs), PER_ARTICLE):
            body = "\n\n".join(paragraphs[start : start + PER_ARTICLE])
            stream.write(json.dumps({"id": f"a{start}", "text": body}) + "\n")


def predict(model: Path, feed: Path, unit: str, jobs: int, out: Path) -> dict:
    """Wall and CPU seconds, peak RSS (MB) and paragraphs labelled of one `triage predict` run."""
    triage_bin = str(Path(sys.executable).with_name("triage"))
    command = [triage_bin, "predict", str(feed), "--unit", unit, "--model", str(model), "-o", str(out),
               "-j", str(jobs), "-q", "--force"]  # fmt: skip
    measured = subprocess.run(
        [sys.executable, "-c", MEASURED, *command], check=True, capture_output=True, text=True
    )
    peak_mb, took, cpu = (float(value) for value in measured.stdout.split())
    with open(out, encoding="utf-8") as stream:
        labelled = sum(len(json.loads(line).get("paragraphs", [])) or 1 for line in stream)
    return {"rate": labelled / took, "cpu_rate": labelled / cpu, "rss": peak_mb}


def load_seconds(models: dict[str, Path], runs: int = 5) -> dict[str, float]:
    """Median seconds to import triage and load each model in a fresh process, run alternately."""
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(runs):
        for name, model in models.items():
            command = [sys.executable, "-c", LOAD, str(model)]
            times[name].append(
                float(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            )
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=256)
    parser.add_argument("--tfidf-model", type=Path)
    parser.add_argument("--semantic-model", type=Path)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.tfidf_model and args.semantic_model:
            tfidf, semantic, messages = args.tfidf_model, args.semantic_model, []
        else:
            tfidf, semantic, messages = train_models(folder)
        for message in messages:
            if "embed" in message or "trained the" in message:
                print(message)
        # TF-IDF gets TFIDF_SCALE times the paragraphs, so that its rate is not its start-up time.
        paragraphs = news_length_paragraphs(args.paragraphs * TFIDF_SCALE)
        feeds = {}
        for name, count in (("tfidf", len(paragraphs)), ("semantic", args.paragraphs)):
            feeds[name] = {
                "paragraph": folder / f"{name}-paragraphs.jsonl",
                "article": folder / f"{name}-articles.jsonl",
            }
            write_jsonl(feeds[name]["paragraph"], paragraphs[:count])
            write_articles(feeds[name]["article"], paragraphs[:count])

        loads = load_seconds({"tfidf": tfidf, "semantic": semantic})
        print(
            f"\nimport triage and load the model, fresh process (median of 5, alternating): "
            f"TF-IDF {loads['tfidf']:.2f} s, semantic {loads['semantic']:.2f} s = {loads['semantic'] / loads['tfidf']:.2f}x"
        )
        mean_characters = sum(map(len, paragraphs[: args.paragraphs])) / args.paragraphs
        print(
            f"\ndistinct paragraphs ({mean_characters:.0f} characters on average): {args.paragraphs} for the "
            f"semantic model, {len(paragraphs)} for TF-IDF; --unit article: {PER_ARTICLE} to an article; "
            "end to end, start-up included; p/CPU-s: paragraphs per CPU second of the process tree"
        )
        print(
            f"{'':36}{'TF-IDF p/s':>11}{'semantic p/s':>13}{'ratio':>7}{'TF-IDF p/CPU-s':>15}"
            f"{'semantic p/CPU-s':>17}{'TF-IDF RSS':>11}{'semantic RSS':>13}"
        )
        for unit in ("paragraph", "article"):
            for jobs in (1, 2):
                runs = {
                    name: predict(
                        model, feeds[name][unit], unit, jobs, folder / f"{name}-{unit}-{jobs}.jsonl"
                    )
                    for name, model in (("tfidf", tfidf), ("semantic", semantic))
                }
                first, second = runs["tfidf"], runs["semantic"]
                print(
                    f"triage predict --unit {unit:9} -j {jobs} {first['rate']:11,.0f}{second['rate']:13,.1f}"
                    f"{second['rate'] / first['rate']:7.3f}{first['cpu_rate']:15,.0f}{second['cpu_rate']:17,.1f}"
                    f"{first['rss']:8.0f} MB{second['rss']:10.0f} MB"
                )


if __name__ == "__main__":
    main()
