"""`triage predict --engine dask`: the same scoring over a Dask cluster.

Parquet or JSON-lines inputs (local paths, or any fsspec URL the workers can read) become
one Dask DataFrame; each partition is scored by `batch.score_records` in a worker that
loads the model once; the rows (one per paragraph, the CSV/Parquet columns) are written
as Parquet partitions into the output directory (a path or an fsspec URL), which holds a
marker file (OUTPUT_MARKER) so that `--force` only ever replaces a directory this engine
wrote. Without a scheduler address a local cluster is started. Every worker must read the
model card and file at the same path, and run the same package versions.

Differences from the local engine, by design: ids come from the id column (`--id-column`,
default `id`, required: a partition does not know its file and row; a row without one is
skipped with a warning), and near-duplicate flags are not computed (they depend on the
order of the whole run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from triage import __version__
from triage.errors import BadInput, UsageError
from triage.readers.files import DEFAULT_ID_COLUMN, ReadOptions
from triage.readers.formats import id_text
from triage.records import (
    OUTPUT_SCHEMA,
    OUTPUT_SCHEMA_KEY,
    InputRecord,
    check_keep_columns,
    flat_columns,
    flat_rows,
)

# In the output directory: what wrote it. Its leading underscore keeps Parquet readers
# (pyarrow, dask, pandas) from taking it for data.
OUTPUT_MARKER = "_triage_output.json"
SKIPPED_SHOWN = 10  # ids named per reason in a file's skipped-rows warning


def _filesystem(url: str):
    """(fsspec file system, path on it) for a local path or any fsspec URL."""
    import fsspec.core

    return fsspec.core.url_to_fs(url)


def _frame(path: str, read_options: ReadOptions):
    import dask.dataframe as dd

    fs, root = _filesystem(path)
    lower = path.lower()
    is_glob = any(character in root for character in "*?[")
    if not is_glob and not fs.exists(root):
        raise BadInput(f"{path}: no such file or directory")
    # nullable dtypes: an integer id column with gaps stays integers, not 1.0, 2.0, NaN
    if lower.endswith(".parquet") or (
        not is_glob and fs.isdir(root) and fs.glob(root.rstrip("/") + "/*.parquet")
    ):
        return dd.read_parquet(path, dtype_backend="numpy_nullable")
    if lower.endswith(".jsonl") or lower.endswith(".jsonl.gz"):
        compressed = lower.endswith(".gz")
        return dd.read_json(
            path,
            lines=True,
            blocksize=None if compressed else 32 * 2**20,
            compression="gzip" if compressed else None,
            dtype=False,
            dtype_backend="numpy_nullable",
            encoding=read_options.encoding or "utf-8",
        )
    raise UsageError(f"{path}: --engine dask reads .parquet or .jsonl(.gz) inputs")


def _skip_reason(row: dict, read_options: ReadOptions) -> str | None:
    """Why a row is not scored (the local engine's rules for ids and text), or None."""
    text = row.get(read_options.text_column)
    if not isinstance(text, str) or not text.strip():
        return f"empty or missing {read_options.text_column!r}"
    if id_text(row.get(read_options.id_column or DEFAULT_ID_COLUMN)) is None:
        return "no id (--engine dask takes ids from the id column)"
    return None


def score_partition(
    partition, model_path: str, model_sha: str, read_options: ReadOptions, score_options, labels
):
    """One partition of input rows -> its output rows (a pandas DataFrame), in a worker that
    refuses a model other than the run's (`model_sha`)."""
    import pandas as pd

    from triage.batch.scoring import score_records, worker_model

    id_column = read_options.id_column or DEFAULT_ID_COLUMN
    title_column = read_options.title_column or "title"
    records = []
    for row in partition.to_dict("records"):
        if _skip_reason(row, read_options) is not None:
            continue
        title = row.get(title_column)
        records.append(
            InputRecord(
                id_text(row[id_column]),
                row[read_options.text_column],
                title if isinstance(title, str) and title.strip() else None,
                {column: row.get(column) for column in read_options.keep_columns},
            )
        )
    outputs, _ = (
        score_records(worker_model(model_path, model_sha), records, score_options) if records else ([], [])
    )
    columns = flat_columns(labels, read_options.keep_columns)
    rows = [row for output in outputs for row in flat_rows(output, labels, read_options.keep_columns)]
    return _typed(pd.DataFrame(rows, columns=columns), labels)


def skipped_rows(partition, read_options: ReadOptions):
    """The rows of a partition that score_partition leaves out: (id, reason), for warnings."""
    import pandas as pd

    id_column = read_options.id_column or DEFAULT_ID_COLUMN
    skipped = [
        (id_text(row.get(id_column)), reason)
        for row in partition.to_dict("records")
        if (reason := _skip_reason(row, read_options)) is not None
    ]
    return pd.DataFrame(skipped, columns=["id", "reason"]).astype("object")


def _typed(frame, labels):
    """The output columns with fixed dtypes, so every partition has the same schema."""
    numbers = [f"p_{label}" for label in labels] + [f"tag_{label}" for label in labels]
    integers = ["paragraph", "first_line", "last_line", OUTPUT_SCHEMA_KEY]
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


def _skipped_warnings(path: str, skipped) -> list[str]:
    """One warning per reason for a file's skipped rows, naming the first ids."""
    warnings = []
    for reason, rows in skipped.groupby("reason", sort=True):
        ids = [value for value in rows["id"] if isinstance(value, str)][:SKIPPED_SHOWN]  # None may be NaN now
        named = f" (ids {', '.join(ids)}{', ...' if len(rows) > len(ids) else ''})" if ids else ""
        warnings.append(f"skipped {len(rows):,} row(s) of {path}{named}: {reason}")
    return warnings


def _check_output(output: str, force: bool) -> tuple:
    """(file system, path) of -o; an existing target is refused without --force, and with
    it unless this engine wrote it (its marker file is there)."""
    fs, root = _filesystem(output)
    if fs.exists(root):
        if not force:
            raise BadInput(f"-o {output}: already exists (use --force to replace it)")
        if not fs.isdir(root) or not fs.exists(f"{root.rstrip('/')}/{OUTPUT_MARKER}"):
            raise BadInput(
                f"-o {output}: not a directory that triage --engine dask wrote (no {OUTPUT_MARKER}); "
                "--force replaces only those: remove it yourself or choose another -o"
            )
    return fs, root


def _write_marker(fs, root: str, **state) -> None:
    marker = {
        "written_by": "triage predict --engine dask",
        "triage_version": __version__,
        OUTPUT_SCHEMA_KEY: OUTPUT_SCHEMA,
        **state,
    }
    with fs.open(f"{root.rstrip('/')}/{OUTPUT_MARKER}", "w") as stream:
        stream.write(json.dumps(marker, indent=1) + "\n")


def _checked_frames(paths: list[str], read_options: ReadOptions) -> list:
    """One dask frame per input file, each refused unless it has the text, id and kept columns."""
    frames = [_frame(path, read_options) for path in paths]
    id_column = read_options.id_column or DEFAULT_ID_COLUMN
    for path, frame in zip(paths, frames, strict=True):
        wanted = (read_options.text_column, id_column, *read_options.keep_columns)
        missing = [column for column in wanted if column not in frame.columns]
        if missing:
            raise BadInput(
                f"{path}: no {', '.join(map(repr, missing))} column (--engine dask needs an id column)"
            )
    return frames


def run_dask(
    paths: list[str],
    output: str,
    model_path: Path | None,
    read_options: ReadOptions,
    score_options,
    *,
    scheduler: str | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda m: None,
    warn: Callable[[str], None] = lambda m: None,
) -> int:
    """Score every row of `paths` on a Dask cluster into Parquet partitions under `output`
    (a path or an fsspec URL); returns the number of output rows. Skipped rows go to `warn`."""
    try:
        import dask
        import dask.dataframe as dd
        from distributed import Client, LocalCluster
    except ImportError:
        from triage.paths import extra_install_command

        raise BadInput(
            "--engine dask needs dask and distributed: install the batch extra with "
            + extra_install_command("batch")
        ) from None

    from triage.model.predict import default_model_path, load_model

    model_path = Path(model_path) if model_path is not None else default_model_path()
    model = load_model(model_path)  # refuse a bad model here, before any cluster starts
    labels, model_sha = model.labels, model.card["model_file"]["sha256"]
    check_keep_columns(read_options.keep_columns, labels)
    fs, root = _check_output(output, force)
    frames = _checked_frames(paths, read_options)
    rows = dd.concat(frames) if len(frames) > 1 else frames[0]
    card = str(model_path.resolve())
    meta = score_partition(rows._meta, card, model_sha, read_options, score_options, labels)
    scored = rows.map_partitions(
        score_partition, card, model_sha, read_options, score_options, labels, meta=meta
    )
    skipped_meta = skipped_rows(frames[0]._meta, read_options)
    skipped = [frame.map_partitions(skipped_rows, read_options, meta=skipped_meta) for frame in frames]
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        with Client(scheduler or cluster) as client:
            say(f"dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}")
            if fs.exists(root):  # checked above: a directory this engine wrote
                fs.rm(root, recursive=True)
            fs.makedirs(root, exist_ok=True)
            _write_marker(fs, root, complete=False)
            writing = scored.to_parquet(output, write_index=False, compute=False)
            _, *skipped_frames = dask.compute(writing, *skipped)
            count = int(dd.read_parquet(output).shape[0].compute())
            _write_marker(fs, root, complete=True, rows=count)
    finally:
        if cluster is not None:
            cluster.close()
    skipped_count = 0
    for path, frame in zip(paths, skipped_frames, strict=True):
        skipped_count += len(frame)
        for message in _skipped_warnings(path, frame):
            warn(message)
    say(f"dask: wrote {count:,} rows to {output.rstrip('/')}/; skipped {skipped_count:,} input row(s)")
    return count
