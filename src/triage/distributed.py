"""`triage predict --engine dask`: the same scoring over a Dask cluster.

Parquet or JSON-lines inputs (local paths, or any fsspec URL the workers can read) become
one Dask DataFrame; each partition is scored by `batch.score_records` in a worker that
loads the model once; the rows (one per paragraph, the CSV/Parquet columns) are written
as Parquet partitions into the output directory. Without a scheduler address a local
cluster is started. Every worker must read the model card and file at the same path, and
run the same package versions.

Differences from the local engine, by design: ids come from the id column (`--id-column`,
default `id`, required: a partition does not know its file and row), and near-duplicate
flags are not computed (they depend on the order of the whole run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from triage.errors import BadInput, UsageError
from triage.io import DEFAULT_ID_COLUMN, InputRecord, ReadOptions, check_keep_columns, flat_columns, flat_rows


def _frame(path: str, read_options: ReadOptions):
    import dask.dataframe as dd

    lower = path.lower()
    if lower.endswith(".parquet") or (Path(path).is_dir() and any(Path(path).glob("*.parquet"))):
        return dd.read_parquet(path)
    if lower.endswith(".jsonl") or lower.endswith(".jsonl.gz"):
        compressed = lower.endswith(".gz")
        return dd.read_json(
            path,
            lines=True,
            blocksize=None if compressed else 32 * 2**20,
            compression="gzip" if compressed else None,
            dtype=False,
            encoding=read_options.encoding or "utf-8",
        )
    raise UsageError(f"{path}: --engine dask reads .parquet or .jsonl(.gz) inputs")


def score_partition(partition, model_path: str, read_options: ReadOptions, score_options, labels):
    """One partition of input rows -> its output rows (a pandas DataFrame), in a worker."""
    import pandas as pd

    from triage.batch import _score_in_worker

    id_column = read_options.id_column or DEFAULT_ID_COLUMN
    title_column = read_options.title_column or "title"
    records = []
    for row in partition.to_dict("records"):
        text = row.get(read_options.text_column)
        if not isinstance(text, str) or not text.strip():
            continue
        title = row.get(title_column)
        records.append(
            InputRecord(
                str(row[id_column]),
                text,
                title if isinstance(title, str) and title.strip() else None,
                {column: row.get(column) for column in read_options.keep_columns},
            )
        )
    outputs, _ = _score_in_worker(model_path, records, score_options) if records else ([], [])
    columns = flat_columns(labels, read_options.keep_columns)
    rows = [row for output in outputs for row in flat_rows(output, labels, read_options.keep_columns)]
    return _typed(pd.DataFrame(rows, columns=columns), labels)


def _typed(frame, labels):
    """The output columns with fixed dtypes, so every partition has the same schema."""
    numbers = [f"p_{label}" for label in labels] + [f"tag_{label}" for label in labels]
    integers = ["paragraph", "first_line", "last_line", "triage_schema"]
    for column in frame.columns:
        if column in numbers:
            frame[column] = frame[column].astype("float64")
        elif column in integers:
            frame[column] = frame[column].astype("Int64")
        elif column == "needs_review":
            frame[column] = frame[column].astype("bool")
        else:
            frame[column] = frame[column].astype("string")
    return frame


def run_dask(
    paths: list[str],
    output: Path,
    model_path: Path | None,
    read_options: ReadOptions,
    score_options,
    *,
    scheduler: str | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda m: None,
) -> int:
    """Score every row of `paths` on a Dask cluster into Parquet partitions under `output`;
    returns the number of output rows."""
    try:
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        raise BadInput("--engine dask needs dask and distributed: pip install 'triage[batch]'") from None
    import shutil

    from triage.predict import default_model_path, load_model

    model_path = Path(model_path) if model_path is not None else default_model_path()
    labels = load_model(model_path).labels  # refuse a bad model here, before any cluster starts
    check_keep_columns(read_options.keep_columns, labels)
    if output.exists() and not force:
        raise BadInput(f"-o {output}: already exists (use --force to replace it)")
    frames = [_frame(path, read_options) for path in paths]
    for path, frame in zip(paths, frames, strict=True):
        id_column = read_options.id_column or DEFAULT_ID_COLUMN
        missing = [
            c
            for c in (read_options.text_column, id_column, *read_options.keep_columns)
            if c not in frame.columns
        ]
        if missing:
            raise BadInput(
                f"{path}: no {', '.join(map(repr, missing))} column (--engine dask needs an id column)"
            )
    rows = dd.concat(frames) if len(frames) > 1 else frames[0]
    meta = score_partition(rows._meta, str(model_path.resolve()), read_options, score_options, labels)
    scored = rows.map_partitions(
        score_partition, str(model_path.resolve()), read_options, score_options, labels, meta=meta
    )
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        with Client(scheduler or cluster) as client:
            say(f"dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}")
            if output.exists():
                shutil.rmtree(output)
            scored.to_parquet(str(output), write_index=False)
            count = int(dd.read_parquet(str(output)).shape[0].compute())
    finally:
        if cluster is not None:
            cluster.close()
    say(f"dask: wrote {count:,} rows to {output}/")
    return count
