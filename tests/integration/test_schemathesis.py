"""An independent tool holds the API to its OpenAPI document: schemathesis generates requests
from the document (its constraints, its links from created objects to the routes that use
them) and sends them to the running platform as an admin. No answer may be a server error,
have an undocumented status, media type or header, or fail to match its documented schema;
a request that breaks the document must be refused; a wrong method gets 405 with Allow; no
route answers without a token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.http import ADMIN

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance",
          "negative_data_rejection", "unsupported_method", "allow_header_conformance",
          "ignored_auth", "missing_required_header")


def test_schemathesis_finds_nothing_the_document_does_not_say(platform, tmp_path):
    client = platform["client"]
    # Something to find: a hub of the consortium with a member, as county offices have.
    client.ok("POST", "/v1/hubs", {"id": "fuzzed", "name": "Fuzzed County", "state": "CA",
                                   "facilitator_org": "Partner"})
    client.ok("POST", "/v1/hubs/fuzzed/members", {"name": "Fuzzed Union", "kind": "district",
                                                  "grade_span": "K-8", "enrollment": 120})
    tool = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [str(tool), "run", f"{client.base}/openapi.json",
         "--header", f"Authorization: Bearer {ADMIN}", "--checks", ",".join(CHECKS),
         "--phases", "coverage,fuzzing,stateful", "--max-time", "45", "--seed", "20261124",
         "--max-failures", "20", "--no-color", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1], summary
