"""An analyst's own labels in the simple form `id,text,label` (optionally article_id, title,
split): loaded, validated and scored like the schema's files. Texts written for the tests."""

from __future__ import annotations

import json
from pathlib import Path

from triage.cli import main
from triage.corpus import load_labeled


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------
def test_a_simple_id_text_label_csv_is_scored_by_evaluate(capsys, trained, tmp_path, in_repo):
    mine = tmp_path / "mine.csv"
    mine.write_text(
        "id,text,label\n"
        "a1,The court granted the shoe maker an injunction against three marketplace sellers.,legal_action\n"
        "a2,The retailer opened twelve flagship stores in the region this year.,market_expansion\n",
        encoding="utf-8",
    )
    code, out, err = run(
        capsys, "evaluate", "--data", mine, "--model", trained.model_path, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 2 and report["model"]["per_label"]["legal_action"]["support"] == 1


def test_the_simple_form_gets_documented_defaults():
    frame = load_labeled(_write(["article_id,text,label", "x,First paragraph.,other", "x,Second one.,other"]))
    assert list(frame["article_id"]) == ["x", "x"] and list(frame["paragraph"]) == [0, 1]
    assert set(frame["split"]) == {"test"} and set(frame["source"]) == {"analyst"}
    no_ids = load_labeled(_write(["text,label", "Only text here.,other"]))
    assert list(no_ids["article_id"]) == ["row-1"]


def test_a_bad_label_in_a_simple_csv_names_its_row_in_one_line(capsys, tmp_path, trained):
    mine = tmp_path / "mine.csv"
    mine.write_text("id,text,label\na,Fine text.,other\nb,More text.,gossip\n", encoding="utf-8")
    code, _, err = run(capsys, "evaluate", "--data", mine, "--model", trained.model_path)
    assert code == 3 and err.startswith("error: ") and err.count("\n") == 1
    assert "row 2: label 'gossip'" in err


def test_provenance_columns_do_not_stop_a_file_from_loading(tmp_path):
    path = _write(
        [
            "article_id,paragraph,text,text_sha1,label,split,source,annotator",
            "a,0,Text.,{sha},other,train,analyst,ana",
        ]
    )
    assert load_labeled(path)["label"].tolist() == ["other"]


def _write(lines: list[str]) -> Path:
    import hashlib
    import tempfile

    folder = Path(tempfile.mkdtemp())
    path = folder / "file.csv"
    sha = hashlib.sha1(b"Text.").hexdigest()
    path.write_text("\n".join(line.replace("{sha}", sha) for line in lines) + "\n", encoding="utf-8")
    return path
