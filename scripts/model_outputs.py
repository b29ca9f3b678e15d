"""A model's probabilities on every row of the labelled data, saved, or compared with a saved
run: to show that a change which should not touch the model (a move, a refactor) did not.

    .venv/bin/python scripts/model_outputs.py models/triage.json before.npz
    # ... the change, then `triage train` again ...
    .venv/bin/python scripts/model_outputs.py models/triage.json after.npz --compare before.npz

Saves each paragraph's own probabilities, the in-context probabilities of each article's
paragraphs (`predict_article` on the article's paragraphs joined), and the card's settings
hash (what the real-news log matches a model on).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import triage
from triage.evaluation.realnews_scoring import settings_hash


def model_outputs(card_path: Path) -> dict[str, np.ndarray]:
    model = triage.load_model(card_path)
    rows = triage.load_labeled()
    paragraph = model.paragraph_probabilities(list(rows["text"]))
    in_context = []
    for _, article in rows.groupby("article_id", sort=True):
        result = model.predict_article("\n\n".join(article.sort_values("paragraph")["text"]))
        in_context += [
            list(paragraph_result.probabilities.values()) for paragraph_result in result.paragraphs
        ]
    card = json.loads(Path(card_path).read_text())
    return {
        "paragraph": paragraph,
        "in_context": np.array(in_context),
        "settings_hash": np.array(settings_hash(card)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("card", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--compare", type=Path, help="a saved run to compare with")
    args = parser.parse_args()
    outputs = model_outputs(args.card)
    np.savez(args.output, **outputs)
    print(f"{len(outputs['paragraph'])} paragraphs, settings hash {outputs['settings_hash']}")
    if args.compare:
        before = np.load(args.compare)
        for name in ("paragraph", "in_context"):
            same_shape = before[name].shape == outputs[name].shape
            same = same_shape and np.array_equal(before[name], outputs[name])
            largest = np.abs(before[name] - outputs[name]).max() if same_shape else "shapes differ"
            print(f"{name}: identical {same}, largest difference {largest}")
        print(f"settings hash identical: {str(before['settings_hash']) == str(outputs['settings_hash'])}")


if __name__ == "__main__":
    main()
