"""`paperflow import` of the real sample captures, through the real CLI, Prefect and DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from flows.cli import main

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _import(db: Path, files: list[Path], *extra: str) -> int:
    return main(["--db", str(db), "import", *map(str, files), "--as-of", "2026-11-22", *extra])


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_samples_give_166_sightings_and_165_papers(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    assert _rows(db, "SELECT count(*) FROM sightings") == [(166,)]
    assert _rows(db, "SELECT count(*) FROM papers") == [(165,)]
    assert _rows(db, "SELECT status, pages_parsed, sightings_added FROM runs") == [
        ("succeeded", 3, 166)
    ]


def test_longnet_pair_is_one_paper(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    rows = _rows(
        db,
        "SELECT p.paper_id, p.title, p.n_sightings, list_sort(p.sources) FROM papers p "
        "WHERE p.title ILIKE 'LongNet%'",
    )
    assert len(rows) == 1
    assert rows[0][1] == "LongNet: Scaling Transformers to 1,000,000,000 Tokens"
    assert rows[0][2] == 2
    assert rows[0][3] == ["abstracts", "scholarfeed"]
    rule = _rows(
        db,
        f"SELECT rule FROM merge_decisions JOIN sightings USING (sighting_id) "
        f"WHERE sightings.source = 'abstracts' AND merge_decisions.paper_id = '{rows[0][0]}'",
    )
    assert rule == [("abstract",)]


@pytest.mark.parametrize(
    "prefixes",
    [
        ("Kosmos-2:", "Kosmos-2.5", "Kosmos-G"),
        ("BEiT v2", "VL-BEiT", "Image as a Foreign Language: BEiT"),
    ],
)
def test_look_alike_titles_stay_apart(
    db: Path, samples: list[Path], prefixes: tuple[str, ...]
) -> None:
    assert _import(db, samples) == 0
    ids = set()
    for prefix in prefixes:
        found = _rows(
            db, f"SELECT DISTINCT paper_id FROM sightings WHERE title_rendered ILIKE '{prefix}%'"
        )
        assert len(found) == 1, (prefix, found)
        ids.add(found[0][0])
    assert len(ids) == len(prefixes)


def test_tex_title_raw_in_sightings_rendered_in_papers(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    raw = _rows(db, "SELECT title FROM sightings WHERE title LIKE 'PanGu-%'")
    assert raw == [
        (
            "PanGu-$α$: Large-scale Autoregressive Pretrained Chinese Language Models "
            "with Auto-parallel Computation",
        )
    ]
    assert _rows(db, "SELECT title FROM papers WHERE title LIKE 'PanGu-%'")[0][0].startswith(
        "PanGu-α: "
    )


def test_reimport_changes_no_paper_and_adds_no_sighting(db: Path, samples: list[Path]) -> None:
    assert _import(db, samples) == 0
    before = _rows(db, "SELECT * FROM papers ORDER BY paper_id")
    sightings = _rows(db, "SELECT * FROM sightings ORDER BY sighting_id")
    assert _import(db, samples) == 0
    assert _rows(db, "SELECT * FROM papers ORDER BY paper_id") == before
    assert _rows(db, "SELECT * FROM sightings ORDER BY sighting_id") == sightings
    last = _rows(
        db,
        "SELECT status, pages_unchanged, sightings_added FROM runs ORDER BY started_at DESC LIMIT 1",
    )
    assert last == [("succeeded", 3, 0)]


def test_a_file_given_twice_is_one_page_of_the_run(db: Path, samples: list[Path]) -> None:
    assert _import(db, [samples[0], samples[0]]) == 0
    assert _rows(db, "SELECT pages_total, pages_parsed FROM runs") == [(1, 1)]
    assert _rows(db, "SELECT count(*) FROM pages") == [(1,)]


def test_saved_api_json_is_recognised_without_format(db: Path, tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "hf_papers"
    assert _import(db, [fixtures / "api_daily_2026-05-08.json"]) == 0
    assert _rows(db, "SELECT DISTINCT format FROM pages") == [("hf-papers-api",)]
    n = _rows(db, "SELECT count(*) FROM sightings WHERE source = 'hf-papers'")[0][0]
    assert isinstance(n, int) and n > 0


def test_unknown_and_garbage_files_fail_alone(
    db: Path, samples: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02 definitely not a listing \xff" * 50)
    hf_without_listing = tmp_path / "hf.html"
    hf_without_listing.write_text(
        "<!doctype html><html><head><title>Daily Papers - Hugging Face</title></head>"
        "<body><main><p>nothing here</p></main></body></html>"
    )
    assert _import(db, [*samples, junk]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "junk.bin" in out
    assert _rows(db, "SELECT count(*) FROM papers") == [(165,)]
    failed = _rows(db, "SELECT url, outcome, error FROM pages WHERE outcome = 'failed'")
    assert (
        len(failed) == 1 and failed[0][0].endswith("junk.bin") and "unknown format" in failed[0][2]
    )
    assert (
        main(["--db", str(db), "import", str(hf_without_listing), "--format", "hf-papers-html"])
        == 1
    )
    reason = _rows(db, "SELECT error FROM pages WHERE url LIKE '%hf.html'")
    assert reason and reason[0][0]
