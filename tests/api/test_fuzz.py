"""No generated request gets a 500 or an answer the OpenAPI document does not describe.

schemathesis, in process over the app's own OpenAPI document, for every operation as a
coordinator and as an agency, with data that fits the schema and data that does not (half of
the requests aimed at a seeded done plan, its orders, roster and trips): a small, derandomised
budget (~60 s per database). ``python -m benchmarks.fuzz`` runs the same with ≥ 10,000 requests.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import fuzz

#: requests per database (about 4 per operation × principal × kind of data) and the time budget
REQUESTS = 1200
SECONDS = 60.0


def test_no_server_error_and_every_answer_as_documented(database_url: str, tmp_path: Path):
    report = fuzz.run(database_url, tmp_path / "var", requests=REQUESTS, seconds=SECONDS)
    assert report.requests >= 500, f"only {report.requests} requests were sent"
    assert len({s for s in report.statuses()}) >= 2  # both successes and refusals were reached
    assert not report.failures, "\n" + fuzz.table(report, database_url.split(":")[0])
