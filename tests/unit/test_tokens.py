"""The token CLI as an administrator uses it: a subject of the token's own, a bounded life,
and never a secret the repository published."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from eventstore.config import PUBLIC_SECRETS

SECRET = "t" * 40


def run(*args, **env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("CONSORTIUM_JWT_SECRET", "CONSORTIUM_DEV_MODE")}
    return subprocess.run([sys.executable, "-m", "gateway.tokens", *args],
                          env={**environ, **env}, capture_output=True, text=True, timeout=60)


def test_a_token_carries_exactly_the_claims_api_md_lists():
    done = run("--sub", "ana.lopez", "--role", "facilitator", "--hubs", "el-dorado",
               CONSORTIUM_JWT_SECRET=SECRET)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout.strip(), SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "role", "hubs", "exp"}
    assert claims["sub"] == "ana.lopez" and claims["hubs"] == ["el-dorado"]


def test_two_people_never_share_a_subject_by_default():
    done = run("--role", "facilitator", "--hubs", "el-dorado", CONSORTIUM_JWT_SECRET=SECRET)
    assert done.returncode == 2 and "--sub" in done.stderr


@pytest.mark.parametrize("days", ["0", "91", "3650"])
def test_a_token_lives_ninety_days_at_most(days):
    done = run("--sub", "a", "--role", "operator", "--days", days,
               CONSORTIUM_JWT_SECRET=SECRET)
    assert done.returncode == 2 and "1 to 90" in done.stderr


@pytest.mark.parametrize("env, reason", [
    ({}, "CONSORTIUM_JWT_SECRET is unset"),
    ({"CONSORTIUM_JWT_SECRET": sorted(PUBLIC_SECRETS)[0]}, "published in the repository"),
    ({"CONSORTIUM_JWT_SECRET": sorted(PUBLIC_SECRETS)[0], "CONSORTIUM_DEV_MODE": "1"},
     "published in the repository"),
    ({"CONSORTIUM_JWT_SECRET": "short"}, "at least 32 characters"),
])
def test_a_public_or_missing_secret_signs_nothing(env, reason):
    done = run("--sub", "a", "--role", "operator", **env)
    assert done.returncode == 2 and reason in done.stderr and not done.stdout
