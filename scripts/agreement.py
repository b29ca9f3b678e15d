"""Inter-annotator agreement of the two labelling passes, per set and per authored batch.

`python scripts/agreement.py` prints Cohen's kappa, raw agreement and the per-label
disagreement counts, and writes every disagreement to data/labeled/passes/<set>.disagreements.csv
(the list that was settled by the guide into <set>.final.csv).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

PASSES = Path(__file__).resolve().parents[1] / "data/labeled/passes"


def compare(name: str) -> pd.DataFrame | None:
    first_path, second_path = PASSES / f"{name}.pass1.csv", PASSES / f"{name}.pass2.csv"
    if not (first_path.exists() and second_path.exists()):
        return None
    first = pd.read_csv(first_path, dtype=str, keep_default_na=False)
    second = pd.read_csv(second_path, dtype=str, keep_default_na=False)
    both = first.merge(second, on=["article_id", "paragraph"], suffixes=("_1", "_2"))
    if "batch" not in both:
        both["batch"] = name
    return both


def report(both: pd.DataFrame, title: str) -> str:
    kappa = cohen_kappa_score(both["label_1"], both["label_2"])
    agree = (both["label_1"] == both["label_2"]).mean()
    differ = both[both["label_1"] != both["label_2"]]
    per_label = Counter(list(differ["label_1"]) + list(differ["label_2"]))
    labels = ", ".join(f"{label} {count}" for label, count in per_label.most_common())
    return f"{title}: n={len(both)} kappa={kappa:.3f} agreement={agree:.1%} disagreements={len(differ)} ({labels})"


SETS = ("seed", "authored", "realistic", "independent", "ood", "ood_realistic")


def main() -> None:
    for name in SETS:
        both = compare(name)
        if both is None:
            continue
        print(report(both, name))
        if both["batch"].nunique() > 1:
            for batch, rows in both.groupby("batch"):
                print("  " + report(rows, batch))
        differ = both[both["label_1"] != both["label_2"]]
        final = pd.read_csv(PASSES / f"{name}.final.csv", dtype=str, keep_default_na=False)
        settled = final[["article_id", "paragraph", "label"]].rename(columns={"label": "settled"})
        differ = differ.drop(columns=[c for c in ("text", "text_1", "text_2") if c in differ]).merge(
            settled, on=["article_id", "paragraph"], how="left"
        )
        differ.to_csv(PASSES / f"{name}.disagreements.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
