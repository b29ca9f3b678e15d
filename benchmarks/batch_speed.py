"""Speed and memory where users are, as ratios measured in one run (not a test).

    .venv/bin/python benchmarks/batch_speed.py [--articles 10000] [--stream-paragraphs 1000000]

The texts never repeat: paragraphs made by recombining sentences of the labelled set with a
seeded generator (a repeated corpus would flatter any cache), 8 to an article. Printed, each
against a baseline measured in the same run:

1. The model's floor: the textbook word (1,2)-gram TF-IDF + logistic regression, fitted on
   our training rows, predict_proba on the paragraphs in memory; the loaded pipeline on the
   same list (target >= 0.9x the textbook: its features are word n-grams only); the same
   settings with character n-grams (char_wb 2-5) kept, for what they would cost, there and
   per article in process.
   Ingesting the articles alone against scoring them (target: as fast).
2. `triage predict FEED.jsonl -q -o OUT.jsonl` end to end on the articles and on the same
   paragraphs one a row: the article unit (the default) against the paragraph unit (target
   >= 0.8x its paragraphs/s), `--explain` against the same run without it (>= 0.5x), and
   `--jobs 2` against `--jobs 1` for each unit (>= 1.6x; the output must be the same bytes).
3. The page: `triage serve` on loopback, POST /api/predict with one 8-paragraph article as JSON,
   p50 and p95 latency against scoring the same article in process with the loaded model
   (targets <= 1.5x and <= 3x), and requests/s with 1 and 4 concurrent clients (no error,
   4 >= 1), each a bounded loop; and 4 clients against `--workers 2`.
4. One paragraph end to end against importing what loading needs (<= 1.3x), and peak RSS of
   streaming `--stream-paragraphs` paragraphs as articles from JSON lines to JSON lines and
   to Parquet (< 400 MB), with the near-duplicate index's share of it (the feed's words are
   drawn at random, so that the index fills to its limit).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD_IMPORTS = (
    "import typer, numpy, scipy.sparse, sklearn.pipeline, sklearn.linear_model, "
    "sklearn.feature_extraction.text, skops.io"
)
PARAGRAPHS_PER_ARTICLE = 8


def sentences_of_labelled_set() -> list[str]:
    from triage.corpus.labeled import load_labeled

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


def drawn_word_paragraphs(count: int, seed: int = 1) -> list[str]:
    """`count` paragraphs of 40-120 words drawn at random, at their frequencies, from the
    labelled set's sentences: not prose, but nearly every 3-gram is new, so a long feed of
    them fills the near-duplicate index to its limit as a feed of distinct real articles
    would (recombined sentences share their 3-grams and never do)."""
    words = [word for sentence in sentences_of_labelled_set() for word in sentence.split()]
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.randint(40, 120))) + "." for _ in range(count)]


def as_articles(paragraphs: list[str]) -> list[str]:
    """Consecutive paragraphs, 8 to an article, one a line with a blank line between."""
    return [
        "\n\n".join(paragraphs[i : i + PARAGRAPHS_PER_ARTICLE])
        for i in range(0, len(paragraphs), PARAGRAPHS_PER_ARTICLE)
    ]


def write_jsonl(path: Path, texts, prefix: str) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for i, text in enumerate(texts):
            stream.write(json.dumps({"id": f"{prefix}{i}", "text": text}) + "\n")


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


def print_table(title: str, rows: list[tuple[str, float, float, str, str]], unit: str) -> None:
    print(f"\n{title}")
    print(f"{'':58}{unit:>14}{'ratio':>8}  {'against':<30}target")
    for name, rate, ratio, against, target in rows:
        print(f"{name:58}{rate:14,.0f}{ratio:8.2f}  {against:<30}{target}")


# --- 1. the model's floor ------------------------------------------------------------------------
def model_floor(model, paragraphs: list[str], articles: list[str]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from triage.corpus.labeled import load_labeled
    from triage.evaluation.training import training_rows
    from triage.ingestion.article import ingest
    from triage.model.fit import fit_pipeline
    from triage.model.pipeline import Settings
    from triage.model.predict import TriageModel

    rows = training_rows(
        load_labeled(ROOT / "data/labeled"), include_authored=model.card["training"]["include_authored"]
    )
    texts, labels = list(rows["text"]), list(rows["label"])
    textbook = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=1000)).fit(
        texts, labels
    )
    settings = Settings.from_dict(model.card["settings"]).replace(char_ngrams=(2, 5))
    with_chars = TriageModel(model.context_model, model.card)
    with_chars.pipeline = fit_pipeline(settings, texts, labels)

    textbook_rate = len(paragraphs) / seconds(lambda: textbook.predict_proba(paragraphs))
    floor_rate = len(paragraphs) / seconds(lambda: model.pipeline.predict_proba(paragraphs))
    chars_rate = len(paragraphs) / seconds(lambda: with_chars.pipeline.predict_proba(paragraphs))
    sample: list = []
    ingesting = seconds(lambda: sample.extend(ingest(text) for text in articles[:2000]))
    count = sum(len(article.paragraphs) for article in sample)
    in_process = count / seconds(lambda: model.predict_articles(sample))
    in_process_chars = count / seconds(lambda: with_chars.predict_articles(sample))
    words = "+".join(str(n) for n in model.card["settings"]["word_ngrams"])
    print_table(
        f"the model's floor: {len(paragraphs):,} paragraphs in memory, predict_proba",
        [
            ("textbook word (1,2)-gram TF-IDF + LR", textbook_rate, 1.0, "textbook", ""),
            (f"our pipeline (word {words}-grams, as chosen)", floor_rate, floor_rate / textbook_rate, "textbook",
             ">= 0.9x (word n-grams only)"),
            ("the same with char_wb 2-5 n-grams kept", chars_rate, chars_rate / textbook_rate, "textbook", ""),
            (f"  articles in process ({count:,} paragraphs), as chosen", in_process, 1.0, "as chosen", ""),
            ("  ingesting the same articles alone", count / ingesting, count / ingesting / in_process, "as chosen",
             ">= 1x (as fast as scoring)"),
            ("  articles in process, char_wb 2-5 n-grams kept", in_process_chars, in_process_chars / in_process,
             "as chosen", ""),
        ],
        "paragraphs/s",
    )  # fmt: skip


# --- 2. what users run --------------------------------------------------------------------------
def end_to_end(triage_bin: str, model_path: str, folder: Path, paragraphs: list[str]) -> None:
    articles = as_articles(paragraphs)
    article_feed, paragraph_feed = folder / "articles.jsonl", folder / "paragraphs.jsonl"
    write_jsonl(article_feed, articles, "a")
    write_jsonl(paragraph_feed, paragraphs, "p")
    runs = {
        "paragraph -j 1": (paragraph_feed, ["--unit", "paragraph"], "1"),
        "article -j 1": (article_feed, [], "1"),
        "article --explain -j 1": (article_feed, ["--explain"], "1"),
        "paragraph -j 2": (paragraph_feed, ["--unit", "paragraph"], "2"),
        "article -j 2": (article_feed, [], "2"),
    }
    rate = {}
    for name, (feed, options, jobs) in runs.items():
        out = folder / f"{name.replace(' ', '_')}.jsonl"
        command = [
            triage_bin,
            "predict",
            str(feed),
            *options,
            "--model",
            model_path,
            "-o",
            str(out),
            "-j",
            jobs,
            "-q",
        ]
        rate[name] = len(paragraphs) / seconds(lambda c=command: subprocess.run(c, check=True))
    same = {
        unit: (folder / f"{unit}_-j_1.jsonl").read_bytes() == (folder / f"{unit}_-j_2.jsonl").read_bytes()
        for unit in ("paragraph", "article")
    }
    print_table(
        f"triage predict FEED.jsonl -q -o OUT.jsonl: {len(articles):,} articles of {PARAGRAPHS_PER_ARTICLE} "
        f"paragraphs, and the same {len(paragraphs):,} paragraphs one a row",
        [
            ("--unit paragraph, --jobs 1", rate["paragraph -j 1"], 1.0, "paragraph unit", ""),
            ("--unit article (the default), --jobs 1", rate["article -j 1"],
             rate["article -j 1"] / rate["paragraph -j 1"], "paragraph unit", ">= 0.8x"),
            ("--unit article --explain, --jobs 1", rate["article --explain -j 1"],
             rate["article --explain -j 1"] / rate["article -j 1"], "article unit", ">= 0.5x"),
            ("--unit paragraph, --jobs 2", rate["paragraph -j 2"],
             rate["paragraph -j 2"] / rate["paragraph -j 1"], "paragraph unit, --jobs 1", ">= 1.6x"),
            ("--unit article, --jobs 2", rate["article -j 2"], rate["article -j 2"] / rate["article -j 1"],
             "article unit, --jobs 1", ">= 1.6x"),
        ],
        "paragraphs/s",
    )  # fmt: skip
    print(
        f"--jobs 2 output identical to --jobs 1: paragraph unit {same['paragraph']}, article unit {same['article']}"
    )
    load = [sys.executable, "-c", f"import triage; triage.load_model({model_path!r})"]
    start_up = statistics.median(seconds(lambda: subprocess.run(load, check=True)) for _ in range(3))
    print(
        f"a worker's start-up (a fresh interpreter importing triage and loading the model): {start_up:.1f} s "
        f"= the time of {start_up * rate['paragraph -j 1']:,.0f} paragraphs at the paragraph unit's --jobs 1 rate"
    )


# --- 3. the page --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Page:
    """`triage serve` in a subprocess on a free loopback port, and a client for its API."""

    def __init__(self, triage_bin: str, model_path: str, article: str, workers: int = 1):
        self.port = free_port()
        self.body = json.dumps({"text": article}).encode()
        command = [
            triage_bin,
            "serve",
            "--port",
            str(self.port),
            "--model",
            model_path,
            "--workers",
            str(workers),
        ]
        self.server = subprocess.Popen(command, stderr=subprocess.DEVNULL)

    def connect(self) -> http.client.HTTPConnection:
        for _ in range(600):  # the server loads the model first: up to a minute
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("GET", "/openapi.json")
                connection.getresponse().read()
                return connection
            except OSError:
                connection.close()
                time.sleep(0.1)
        raise SystemExit("triage serve did not answer")

    def post(self, connection) -> None:
        connection.request("POST", "/api/predict", self.body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or not json.loads(answer)["records"]:
            raise RuntimeError(f"HTTP {response.status}")

    def throughput(self, clients: int, seconds_each: float) -> tuple[float, int]:
        """(requests/s, errors) of `clients` clients posting as fast as they are answered,
        each in a loop that stops after `seconds_each`."""
        counts, failures = [], []

        def client() -> None:
            own, done, stop = self.connect(), 0, time.perf_counter() + seconds_each
            while time.perf_counter() < stop:
                try:
                    self.post(own)
                    done += 1
                except Exception as exc:  # counted, and this client stops
                    failures.append(exc)
                    break
            own.close()
            counts.append(done)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.perf_counter() - started), len(failures)

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait()


def the_page(
    triage_bin: str, model, model_path: str, article: str, requests: int, seconds_each: float
) -> None:
    page = Page(triage_bin, model_path, article)
    try:
        connection = page.connect()
        for _ in range(20):  # warm both sides alike
            page.post(connection)
            model.predict_article(article)
        latency, in_process = [], []
        for _ in range(requests):  # interleaved: the machine's drift hits both alike
            latency.append(seconds(lambda: page.post(connection)))
            in_process.append(seconds(lambda: model.predict_article(article)))
        connection.close()
        one, one_errors = page.throughput(1, seconds_each)
        four, four_errors = page.throughput(4, seconds_each)
    finally:
        page.stop()
    page = Page(triage_bin, model_path, article, workers=2)
    try:
        page.connect().close()
        page.throughput(4, 5.0)  # until both workers have loaded the model and answer
        two_workers, two_workers_errors = page.throughput(4, seconds_each)
    finally:
        page.stop()
    scored = statistics.median(in_process)
    p50, p95 = statistics.median(latency), statistics.quantiles(latency, n=20)[18]
    print(
        f"\nthe page: triage serve on loopback, POST /api/predict of one {PARAGRAPHS_PER_ARTICLE}-paragraph article"
    )
    print(
        f"  scoring it in process (predict_article, loaded model): {scored * 1000:.1f} ms (median of {requests})"
    )
    print(f"  p50 {p50 * 1000:.1f} ms = {p50 / scored:.2f}x in process   target <= 1.5x")
    print(f"  p95 {p95 * 1000:.1f} ms = {p95 / scored:.2f}x in process   target <= 3x")
    print(
        f"  1 client {one:,.0f} requests/s ({one_errors} errors); 4 clients {four:,.0f} requests/s "
        f"({four_errors} errors) = {four / one:.2f}x   target: no error, >= 1x"
    )
    print(
        f"  --workers 2, 4 clients {two_workers:,.0f} requests/s ({two_workers_errors} errors) = "
        f"{two_workers / one:.2f}x one process with 1 client"
    )


# --- 4. start-up and memory -----------------------------------------------------------------------
PEAK_RSS = """
import resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - started)
"""


def start_up_and_memory(
    triage_bin: str, model_path: str, folder: Path, one: str, stream_paragraphs: int
) -> None:
    one_file = folder / "one.txt"
    one_file.write_text(one + "\n", encoding="utf-8")
    imports, single = paired_medians(
        [sys.executable, "-c", LOAD_IMPORTS],
        [triage_bin, "predict", str(one_file), "--unit", "paragraph", "--model", model_path, "-q"],
    )
    print(
        f"\none paragraph end to end {single:.2f} s = {single / imports:.2f}x importing what loading needs "
        f"({imports:.2f} s: {LOAD_IMPORTS.removeprefix('import ')})  target <= 1.3x"
    )
    articles = as_articles(drawn_word_paragraphs(stream_paragraphs))
    big = folder / "big.jsonl"
    write_jsonl(big, articles, "s")
    index_mb, index_grams = near_duplicate_index(articles)
    from triage.batch.near_duplicates import INDEX_LIMIT

    full = ", its limit" if index_grams >= INDEX_LIMIT else ""
    for suffix in ("jsonl", "parquet"):
        measured = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, triage_bin, "predict", str(big), "--model", model_path,
             "-o", str(folder / f"big-out.{suffix}"), "-q"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        peak_mb, took = (float(value) for value in measured.stdout.split())
        print(
            f"{stream_paragraphs:,} paragraphs (drawn words) as {len(articles):,} articles, JSONL -> {suffix}: "
            f"peak RSS {peak_mb:.0f} MB ({stream_paragraphs / took:,.0f} paragraphs/s)  target < 400 MB; the "
            f"near-duplicate index ({index_grams:,} sampled 3-grams{full}): {index_mb:.0f} MB = {index_mb / peak_mb:.0%}"
        )


def near_duplicate_index(articles: list[str]) -> tuple[float, int]:
    """(MB, sampled 3-grams) of the near-duplicate index filled by `articles` as a run fills
    it, up to its limit: the index, the 3-gram hashes it keeps, the ids and sizes of the
    articles it holds, measured with tracemalloc."""
    import gc
    import tracemalloc

    from triage.batch.near_duplicates import INDEX_LIMIT, NearDuplicates

    gc.collect()
    tracemalloc.start()
    index = NearDuplicates()
    for number, text in enumerate(articles):
        index.original_of(f"s{number}", NearDuplicates.sampled_grams(text.replace("\n\n", "\n")))
        if len(index) >= INDEX_LIMIT:
            break
    gc.collect()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size / 1e6, len(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models/triage.json"))
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--stream-paragraphs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="page requests timed one by one")
    parser.add_argument("--client-seconds", type=float, default=10.0, help="each concurrency level's loop")
    args = parser.parse_args()
    triage_bin = str(Path(sys.executable).with_name("triage"))

    import triage

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    model = triage.load_model(args.model)
    paragraphs = recombined_paragraphs(args.articles * PARAGRAPHS_PER_ARTICLE)
    assert len(set(paragraphs)) == len(paragraphs)
    settings = model.card["settings"]
    print(
        f"model: word {settings['word_ngrams']}-grams, char n-grams {settings['char_ngrams']}, C {settings['C']}, "
        f"{model.short_sha}"
    )
    model_floor(model, paragraphs, as_articles(paragraphs))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        end_to_end(triage_bin, args.model, folder, paragraphs)
        the_page(
            triage_bin, model, args.model, as_articles(paragraphs)[0], args.requests, args.client_seconds
        )
        start_up_and_memory(triage_bin, args.model, folder, paragraphs[0], args.stream_paragraphs)


if __name__ == "__main__":
    main()
