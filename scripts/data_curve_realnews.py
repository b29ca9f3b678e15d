"""Does new written data pay on real news? A learning curve by kind, on the dev-check slice.

    .venv/bin/python scripts/data_curve_realnews.py --kind criticism=r10-001:r10-016 --kind other=r10-017:r10-032

Data written for dev errors is judged on the dev-check slice (a fifth of the dev stories
that no choice and no writer read), never on the dev articles whose errors guided the
writing. Each kind's articles are added in steps of `--step` articles; each step is a paired
bootstrap against the step before (in-article macro-F1, 90% interval), and a kind stops at
the first step the rule does not adopt. Results: benchmarks/results/realnews_data_curve.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from triage.corpus.labeled import load_labeled
from triage.corpus.realnews import load_manifest, load_pages
from triage.evaluation.choosing import DevPredictions, paired_difference, score
from triage.evaluation.training import CHOSEN_SETTINGS, context_model
from triage.model.fit import fit_pipeline

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/realnews_data_curve.json"
SLICE = "dev-check"


def article_range(spec: str) -> tuple[str, list[str]]:
    """`name=r10-001:r10-016` -> the kind's name and its realistic article ids, in order."""
    name, span = spec.split("=", 1)
    first, last = span.split(":")
    prefix, start = first.rsplit("-", 1)
    end = int(last.rsplit("-", 1)[1])
    return name, [f"realistic-{prefix}-{n:03d}" for n in range(int(start), end + 1)]


def counts_for(rows, pages, articles_out: set[str]):
    settings = CHOSEN_SETTINGS
    kept = rows[~rows["article_id"].isin(articles_out)]
    pipeline = fit_pipeline(settings, kept["text"], kept["label"])
    return DevPredictions.of(pipeline, pages).counts(context_model(settings), tempered=False), len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", action="append", required=True, help="name=r10-001:r10-016")
    parser.add_argument("--step", type=int, default=8, help="articles added per step")
    options = parser.parse_args()
    rows = load_labeled(ROOT / "data/labeled")
    rows = rows[rows["split"] == "train"].reset_index(drop=True)
    pages = load_pages(SLICE, directory=ROOT / "data/realnews")
    stories = load_manifest(ROOT / "data/realnews")
    print(f"{SLICE}: {len(pages)} pages, {stories[stories['dev_check'] == 'yes']['story'].nunique()} stories")
    kinds = dict(article_range(spec) for spec in options.kind)
    every_new = {article for articles in kinds.values() for article in articles}
    base, n_rows = counts_for(rows, pages, every_new)
    print(f"without any new kind: {n_rows} rows, in-article macro-F1 {score(base):.4f}")
    curve = {"slice": SLICE, "pages": len(pages), "base": round(score(base), 4), "kinds": {}}
    for name, articles in kinds.items():
        steps, previous, adopted = [], base, set()
        for start in range(0, len(articles), options.step):
            added = adopted | set(articles[start : start + options.step])
            current, n_rows = counts_for(rows, pages, every_new - added)
            result = paired_difference(previous, current)
            steps.append(
                {"articles": len(added), "rows": n_rows, "score": round(score(current), 4), **result}
            )
            print(
                f"{name}: +{len(added)} articles -> {score(current):.4f}, gain {result['difference']:+.4f} "
                f"90% {result['interval']} -> {'adopt' if result['adopt'] else 'stop'}"
            )
            if not result["adopt"]:
                break
            adopted, previous = added, current
        curve["kinds"][name] = {"steps": steps, "adopted_articles": sorted(adopted)}
    RESULTS.write_text(json.dumps(curve, indent=2) + "\n")
    print(json.dumps({name: kind["adopted_articles"] for name, kind in curve["kinds"].items()}, indent=2))


if __name__ == "__main__":
    main()
