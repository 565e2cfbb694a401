"""Tests of muse_gnn.io.read_gmt."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from muse_gnn.io import read_gmt

SHARED = Path(__file__).resolve().parents[2] / "shared"
GO_BP = SHARED / "data" / "annotations" / "go_bp_human.gmt"

GMT = (
    "SET_A\tfirst set\tTP53\tMDM2\tCDKN1A\n"
    "SET_B\thttp://example.org/b\tMYC\tMYC\tMAX\t\t\n"  # duplicate gene, trailing empty fields
    "\n"
    "SET_EMPTY\tno genes\n"
    "SET_C\t\tGAPDH\r\n"  # empty description, Windows line ending
)


@pytest.fixture
def gmt_file(tmp_path):
    path = tmp_path / "sets.gmt"
    path.write_text(GMT, encoding="utf-8", newline="")
    return path


def test_read_gmt_dict(gmt_file):
    sets = read_gmt(gmt_file)
    assert sets == {
        "SET_A": ["TP53", "MDM2", "CDKN1A"],
        "SET_B": ["MYC", "MAX"],
        "SET_EMPTY": [],
        "SET_C": ["GAPDH"],
    }
    assert list(sets) == ["SET_A", "SET_B", "SET_EMPTY", "SET_C"]
    assert read_gmt(str(gmt_file)) == sets


def test_read_gmt_frame(gmt_file):
    df = read_gmt(gmt_file, as_frame=True)
    expected = pd.DataFrame(
        {
            "source": ["SET_A"] * 3 + ["SET_B"] * 2 + ["SET_C"],
            "target": ["TP53", "MDM2", "CDKN1A", "MYC", "MAX", "GAPDH"],
        }
    )
    pd.testing.assert_frame_equal(df, expected)


def test_read_gmt_gzip(tmp_path):
    path = tmp_path / "sets.gmt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(GMT)
    assert read_gmt(path)["SET_B"] == ["MYC", "MAX"]


def test_read_gmt_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_gmt(tmp_path / "missing.gmt")
    bad = tmp_path / "bad.gmt"
    bad.write_text("SET_A\tdesc\tTP53\nONLY_A_NAME\n")
    with pytest.raises(ValueError, match="line 2"):
        read_gmt(bad)
    dup = tmp_path / "dup.gmt"
    dup.write_text("S\td\tA\nS\td\tB\n")
    with pytest.raises(ValueError, match="appears twice"):
        read_gmt(dup)
    noname = tmp_path / "noname.gmt"
    noname.write_text("\td\tA\n")
    with pytest.raises(ValueError, match="empty set name"):
        read_gmt(noname)


def test_read_gmt_key_description(tmp_path):
    path = tmp_path / "go.gmt"
    path.write_text("GO:1\tDNA repair\tA\tB\nGO:2\tcell cycle\tC\n", encoding="utf-8")
    assert read_gmt(path, key="description") == {"DNA repair": ["A", "B"], "cell cycle": ["C"]}
    assert read_gmt(path, key="name") == read_gmt(path) == {"GO:1": ["A", "B"], "GO:2": ["C"]}
    df = read_gmt(path, as_frame=True, key="description")
    assert df["source"].tolist() == ["DNA repair", "DNA repair", "cell cycle"]


def test_read_gmt_key_description_errors(tmp_path, gmt_file):
    with pytest.raises(ValueError, match="`key` must be 'name' or 'description', got 'desc'"):
        read_gmt(gmt_file, key="desc")
    with pytest.raises(ValueError, match=r"set 'SET_C' has an empty description"):
        read_gmt(gmt_file, key="description")  # SET_C's description field is empty
    dup = tmp_path / "dup_desc.gmt"
    dup.write_text("S1\tsame\tA\nS2\tother\tB\nS3\tsame\tC\n")
    with pytest.raises(ValueError, match=r"line 3: description 'same' of set 'S3' .* set 'S1' \(line 1\)"):
        read_gmt(dup, key="description")
    assert read_gmt(dup) == {"S1": ["A"], "S2": ["B"], "S3": ["C"]}  # names are unique


@pytest.mark.data
@pytest.mark.skipif(not GO_BP.is_file(), reason="shared GO BP annotation file not present")
def test_read_gmt_go_bp():
    sets = read_gmt(GO_BP)
    n_lines = sum(1 for line in GO_BP.read_text(encoding="utf-8").splitlines() if line.strip())
    assert len(sets) == n_lines
    assert all(name.startswith("GO:") for name in sets)
    assert "PARP1" in sets["GO:0000012"]
    assert all(len(v) == len(set(v)) for v in sets.values())
    by_term = read_gmt(GO_BP, key="description")
    assert by_term["single strand break repair"] == sets["GO:0000012"]
    df = read_gmt(GO_BP, as_frame=True)
    assert list(df.columns) == ["source", "target"]
    assert len(df) == sum(len(v) for v in sets.values())
