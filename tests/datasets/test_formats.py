"""Reading uploaded files: every accepted format, ZIP archives, and a clear error for each bad file."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipelines.datasets import file_format, read_table
from pipelines.datasets.formats import file_suffix
from pipelines.errors import InvalidRequestError

MB = 1_000_000
ROWS = [{"a": 1, "b": 2.5, "label": "up"}, {"a": 3, "b": None, "label": "down"}]
EXPECTED = pd.DataFrame({"a": [1, 3], "b": [2.5, None], "label": ["up", "down"]})


def _read(path: Path, *, limit: int = MB) -> pd.DataFrame:
    return read_table(path, file_format(path.name), origin=path.name, max_unzipped_bytes=limit)


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _zip(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


CSV = "a,b,label\n1,2.5,up\n3,,down\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("rows.csv", CSV),
        ("rows.txt", CSV),
        ("rows.tsv", CSV.replace(",", "\t")),
        ("rows.csv.gz", gzip.compress(CSV.encode(), mtime=0)),
        ("rows.json", json.dumps(ROWS)),
        ("columns.json", json.dumps({"a": [1, 3], "b": [2.5, None], "label": ["up", "down"]})),
        ("rows.jsonl", "\n".join(json.dumps(r) for r in ROWS) + "\n\n"),
        ("rows.ndjson", "\n".join(json.dumps(r) for r in ROWS)),
    ],
)
def test_each_text_format_reads_the_same_table(tmp_path: Path, name: str, content: bytes | str) -> None:
    frame = _read(_write(tmp_path, name, content))
    pd.testing.assert_frame_equal(frame, EXPECTED, check_dtype=False)
    assert list(frame.columns) == ["a", "b", "label"]


def test_parquet_keeps_a_named_index_as_a_column(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    indexed = EXPECTED.copy()
    indexed.index = pd.Index([10, 20], name="row")
    indexed.to_parquet(path)
    frame = _read(path)
    assert list(frame.columns) == ["row", "a", "b", "label"]
    assert frame["row"].tolist() == [10, 20]


def test_a_zip_of_several_files_is_stacked_in_name_order(tmp_path: Path) -> None:
    path = _zip(
        tmp_path,
        "years.zip",
        {
            "data/2024.csv": b"a,b,label\n3,4.0,down\n",
            "data/2023.csv": b"a,b,label\n1,2.0,up\n",
            "__MACOSX/data/._2023.csv": b"junk",
            "data/.DS_Store": b"junk",
            "data/": b"",
        },
    )
    frame = _read(path)
    assert frame["a"].tolist() == [1, 3]
    assert frame["label"].tolist() == ["up", "down"]
    assert not list(tmp_path.glob(".*members*")), "the extraction folder is removed"


def test_a_zip_may_hold_json_and_gzip(tmp_path: Path) -> None:
    path = _zip(
        tmp_path, "mixed.zip", {"a.json": json.dumps(ROWS).encode(), "b.csv.gz": gzip.compress(CSV.encode())}
    )
    assert len(_read(path)) == 4


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", "", "is empty"),
        ("bad.json", "{not json", "cannot be read as JSON"),
        ("scalar.json", "42", "array of row objects"),
        ("ragged.json", json.dumps({"a": [1, 2], "b": [1]}), "different lengths"),
        ("nested.json", json.dumps([{"a": 1, "b": {"x": 1}}]), "row 1, column 'b' holds a nested dict"),
        ("notrows.json", json.dumps([1, 2]), "row 1 is a int"),
        ("latin.csv", "a,b\n\xe9,1\n".encode("latin-1"), "is not UTF-8"),
        ("broken.parquet", b"PAR1 not really", "cannot be read as PARQUET"),
        ("broken.zip", b"PK not really", "not a readable ZIP"),
    ],
)
def test_unreadable_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, content: bytes | str, problem: str
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        _read(_write(tmp_path, name, content))
    assert name in str(err.value) and problem in str(err.value)


def test_bad_zip_archives_are_refused(tmp_path: Path) -> None:
    cases = {
        "nothing.zip": ({"__MACOSX/x.csv": b"a\n1\n", "dir/": b""}, "holds no data file"),
        "inner.zip": ({"inner.zip": b"PK"}, "ZIP inside the ZIP"),
        "odd.zip": ({"notes.docx": b"x"}, "unsupported type"),
        "mismatch.zip": ({"a.csv": b"a,b\n1,2\n", "b.csv": b"a,c\n1,2\n"}, "not those of the first file"),
    }
    for name, (members, problem) in cases.items():
        with pytest.raises(InvalidRequestError, match=problem):
            _read(_zip(tmp_path, name, members))


def test_a_zip_that_expands_past_the_limit_is_refused_before_extraction(tmp_path: Path) -> None:
    path = _zip(tmp_path, "bomb.zip", {"big.csv": b"a\n" + b"0\n" * 600_000})
    assert path.stat().st_size < 10_000
    with pytest.raises(InvalidRequestError, match=r"expands to 1\.2 MB; at most 1 MB"):
        _read(path, limit=MB)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.zip"]


def test_file_types_come_from_the_name() -> None:
    assert file_format("Prices.CSV") == "csv"
    assert file_suffix("prices.csv.gz") == ".csv.gz"
    assert file_format("x.pq") == "parquet"
    for bad in ("data.xlsx", ".csv", "noext", "archive.tar.gz"):
        with pytest.raises(InvalidRequestError, match="unsupported type"):
            file_format(bad)


def test_gzip_and_parquet_count_what_they_unpack_to(tmp_path: Path) -> None:
    bomb = _write(tmp_path, "bomb.csv.gz", gzip.compress(b"a,label\n" + b"1,x\n" * 400_000))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(InvalidRequestError, match="unpacks to more than the 1 MB a dataset may hold"):
        _read(bomb)
    inside = _zip(tmp_path, "inner-bomb.zip", {"rows.csv.gz": bomb.read_bytes()})
    with pytest.raises(InvalidRequestError, match=r"inner-bomb\.zip:rows\.csv\.gz' unpacks to more than"):
        _read(inside)
    wide = tmp_path / "wide.parquet"
    pd.DataFrame({"x": [7] * 400_000}).to_parquet(wide)  # run-length encoded: tiny on disk
    with pytest.raises(InvalidRequestError, match="unpacks to more than"):
        _read(wide)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.csv.gz", "inner-bomb.zip", "wide.parquet"]


def test_a_zip_of_too_many_files_is_refused(tmp_path: Path) -> None:
    many = _zip(tmp_path, "many.zip", {f"part{i}.csv": b"a\n1\n" for i in range(1_001)})
    with pytest.raises(InvalidRequestError, match="holds 1001 data files; at most 1000"):
        _read(many)


def test_an_archive_zipfile_cannot_open_is_the_uploads_error(tmp_path: Path) -> None:
    path = _zip(tmp_path, "future.zip", {"a.csv": CSV.encode()})
    raw = bytearray(path.read_bytes())
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 6 : central + 8] = (124).to_bytes(2, "little")  # "version needed to extract" 12.4
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidRequestError, match=r"future\.zip"):
        _read(path)


def test_unreadable_file_errors_do_not_name_the_stored_path(tmp_path: Path) -> None:
    stored = tmp_path / "datasets" / "0b9c" / "upload.parquet"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"PAR1 garbage that is not parquet PAR1")
    with pytest.raises(InvalidRequestError) as err:
        read_table(stored, "parquet", origin="prices.parquet", max_unzipped_bytes=MB)
    assert "prices.parquet" in str(err.value) and str(tmp_path) not in str(err.value)
