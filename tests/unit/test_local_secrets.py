"""`make up` generates this machine's secrets once, keeps them to itself, and reuses them: the
repository holds none (deploy/runner.py, eventstore/config.py)."""

from __future__ import annotations

import stat

from deploy import runner
from eventstore import config


def test_the_first_up_generates_every_secret_and_the_next_reuses_them(tmp_path, monkeypatch,
                                                                     capsys):
    path = tmp_path / "secrets.env"
    monkeypatch.setattr(config, "LOCAL_SECRETS", path)
    first = runner.local_secrets()
    assert "generated this machine's secrets" in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    wanted = {"CONSORTIUM_JWT_SECRET", "CONSORTIUM_IDENTITY_SECRET",
              *(f"CONSORTIUM_AMQP_PASSWORD_{p.upper()}" for p in (*runner.SERVICES, "gateway")),
              *(f"CONSORTIUM_DB_PASSWORD_{s.upper()}" for s in runner.SERVICES),
              "CONSORTIUM_AMQP_PASSWORD_AGENCY_CA"}   # the demo's state agency's broker user
    assert set(first) == wanted
    assert all(len(value) >= 32 and value not in config.PUBLIC_SECRETS
               for value in first.values())
    assert len(set(first.values())) == len(first)
    assert runner.local_secrets() == first and capsys.readouterr().out == ""


def test_development_mode_reads_them_and_nothing_else_does(tmp_path, monkeypatch):
    path = tmp_path / "secrets.env"
    path.write_text("CONSORTIUM_JWT_SECRET=" + "m" * 40 + "\n")
    monkeypatch.setattr(config, "LOCAL_SECRETS", path)
    monkeypatch.delenv("CONSORTIUM_JWT_SECRET", raising=False)
    monkeypatch.setenv("CONSORTIUM_DEV_MODE", "1")
    assert config.secret("CONSORTIUM_JWT_SECRET") == "m" * 40
    monkeypatch.setenv("CONSORTIUM_DEV_MODE", "0")
    assert config.secret("CONSORTIUM_JWT_SECRET") == ""
    assert "is unset" in config.check_secret("CONSORTIUM_JWT_SECRET")
