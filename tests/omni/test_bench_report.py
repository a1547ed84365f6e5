"""BENCHMARKS.md's table is the memory of earlier runs when bench/results.json is absent (a fresh clone)."""

from bench.__main__ import merge_results, rows_from_report, update_report


def test_a_run_with_only_one_benchmark_keeps_the_other_rows_of_the_report(tmp_path, monkeypatch):
    import bench.__main__ as bench_main

    monkeypatch.setattr(bench_main, "ROOT", tmp_path)
    kept = {
        "name": "kpis endpoint, a year by month (API)",
        "figure": 6350.593,
        "unit": "ms (median)",
        "baseline": 3825.406,
        "baseline_name": "raw SQL over the same rollup rows",
        "p95": 7530.766,
        "target": "under 300 ms",
        "scale": 140.0,
        "date": "2026-11-23T14:57:34+00:00",
        "database": "PostgreSQL 15.18",
    }
    update_report([kept])
    (read,) = rows_from_report((tmp_path / "BENCHMARKS.md").read_text())
    assert read == kept

    fresh = {**kept, "name": "availability of one SKU over 200 locations (API)", "scale": 1.0, "figure": 5.5}
    merged = merge_results(bench_main.load_results(tmp_path / "bench" / "results.json"), [fresh])
    assert [row["name"] for row in merged] == [kept["name"], fresh["name"]]
