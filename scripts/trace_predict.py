"""Follow records through `triage predict`: which of triage's folders the calls enter, in order.

    .venv/bin/python scripts/trace_predict.py data/raw/004_26175a559591074b.txt --model models/triage.json

Runs the command in this process with a profiler hook on triage's own frames and prints each
chain of folders the call stack reaches (cli > batch > model > ingestion), the first time it
reaches it, then whether any chain enters a folder twice on the way down (cli > batch > model >
batch would): the layout promises it never does (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import io
import sys

from triage.cli.app import main

BY_MODULE = "--by-module" in sys.argv  # chains of modules (triage.batch.engine) instead of folders


def folder_of(module: str) -> str:
    parts = module.split(".")
    if BY_MODULE:
        return ".".join(parts[1:])
    return parts[1] if len(parts) > 2 else "bottom" if len(parts) == 2 else "triage"


def trace(arguments: list[str]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(chains in the order first reached, chains that enter a folder twice)."""
    stack: list[str] = []
    seen: dict[tuple[str, ...], None] = {}

    def hook(frame, event, _arg):
        module = frame.f_globals.get("__name__", "")
        if event not in ("call", "return") or not module.startswith("triage."):
            return
        if event == "return":
            if stack:
                stack.pop()
            return
        stack.append(folder_of(module))
        chain = tuple(f for i, f in enumerate(stack) if f != "bottom" and (i == 0 or f != stack[i - 1]))
        chain = tuple(f for i, f in enumerate(chain) if i == 0 or f != chain[i - 1])
        seen.setdefault(chain, None)

    sys.setprofile(hook)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            main(["predict", *arguments, "--format", "jsonl"])
    finally:
        sys.setprofile(None)
    chains = list(seen)
    return chains, [chain for chain in chains if len(set(chain)) < len(chain)]


if __name__ == "__main__":
    chains, reentering = trace([argument for argument in sys.argv[1:] if argument != "--by-module"])
    for chain in chains:
        print(" > ".join(chain))
    sys.stderr.flush()
    print(f"{len(chains)} chains; {len(reentering)} enter a folder twice on the way down")
    for chain in reentering:
        print("  twice:", " > ".join(chain))
