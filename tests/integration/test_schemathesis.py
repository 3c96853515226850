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

from tests.integration.http import ADMIN, token

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

    def schemathesis(bearer, seconds, phases, *only):
        return subprocess.run(
            [str(tool), "run", f"{client.base}/openapi.json",
             "--header", f"Authorization: Bearer {bearer}", "--checks", ",".join(CHECKS),
             "--phases", phases, "--max-time", str(seconds), "--seed",
             "20261124", "--max-failures", "20", "--no-color", "--report-dir", str(tmp_path),
             *only], capture_output=True, text=True, timeout=300, cwd=tmp_path)

    # Every route as the consortium's admin; the agencies' feed (an agency's alone, and no
    # link leads to it) as an agency.
    for run in (schemathesis(ADMIN, 45, "coverage,fuzzing,stateful", "--exclude-path",
                             "/v1/feed", "--exclude-path", "/v1/agency/summary"),
                schemathesis(token("agency", [], state="CA", sub="fuzzing-agency"), 15,
                             "coverage,fuzzing", "--include-path", "/v1/feed",
                             "--include-path", "/v1/agency/summary")):
        summary = run.stdout[-6000:]
        assert run.returncode == 0, summary
        assert " passed" in summary and "failed" not in summary.split("SUMMARY")[-1], summary
