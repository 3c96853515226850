"""Real PostgreSQL and RabbitMQ for every test that touches storage or messaging.

Each test gets its own database, cloned from a migrated template, and the session gets its own
RabbitMQ virtual host, so tests neither see each other's data nor the platform `make up` runs.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid

import pytest

# Every process a test starts signs with secrets of this session (there are no built-in ones).
os.environ.setdefault("CONSORTIUM_DEV_MODE", "1")
os.environ.setdefault("CONSORTIUM_JWT_SECRET", secrets.token_urlsafe(32))
os.environ.setdefault("CONSORTIUM_IDENTITY_SECRET", secrets.token_urlsafe(32))

from eventstore.config import DEV_DB_PASSWORD
from eventstore.db import Database
from eventstore.migrate import migrate
from eventstore.provision import drop_database, ensure_database
from eventstore.store import EventStore

TEST_ROLE = "consortium_test"
PASSWORD = os.environ.get("CONSORTIUM_DB_PASSWORD", DEV_DB_PASSWORD)
PG_HOST = os.environ.get("CONSORTIUM_PG_HOST", "localhost")
PG_PORT = os.environ.get("CONSORTIUM_PG_PORT", "5432")


def db_url(name: str) -> str:
    return f"postgresql://{TEST_ROLE}:{PASSWORD}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="session")
def template_db():
    name = f"consortium_test_tmpl_{os.getpid()}"
    drop_database(name)
    ensure_database(name, TEST_ROLE, PASSWORD)
    migrate(db_url(name))
    yield name
    drop_database(name)


@pytest.fixture(scope="session")
def new_database(template_db):
    """A factory of fresh, migrated databases (URLs), all dropped at the end of the session."""
    created = []

    def create() -> str:
        name = f"consortium_test_{uuid.uuid4().hex[:12]}"
        ensure_database(name, TEST_ROLE, PASSWORD, template=template_db)
        created.append(name)
        return db_url(name)

    yield create
    for name in created:
        drop_database(name)


@pytest.fixture
def database_url(new_database):
    return new_database()


@pytest.fixture
def db(database_url):
    database = Database(database_url, size=12)
    yield database
    database.close()


@pytest.fixture
def store(db):
    return EventStore(db, service="test")


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                          text=True, timeout=60).stdout


@pytest.fixture(scope="session")
def amqp_uri():
    """A RabbitMQ virtual host of this test session, deleted with everything in it at the end."""
    vhost = f"consortium-test-{os.getpid()}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"pyamqp://guest:guest@localhost:5672/{vhost}"
    rabbitmqctl("delete_vhost", vhost)


def forget_users_of_ended_sessions() -> None:
    """Broker users a killed test session left behind (named after its process id)."""
    for line in rabbitmqctl("list_users").splitlines()[1:]:
        name = line.split("\t")[0]
        if name.startswith("ctest") and "-" in name:
            pid = name[len("ctest"):].split("-")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                subprocess.run(["rabbitmqctl", "-q", "delete_user", name], capture_output=True,
                               timeout=60, check=False)


@pytest.fixture(scope="session")
def broker_uris(amqp_uri):
    """Each process's own broker user on this session's virtual host (eventstore.broker), as
    `make up` makes them: {process: its AMQP URI}. The tests themselves call as guest, the
    virtual host's administrator."""
    from deploy.runner import service_sources
    from eventstore.broker import broker_users, provision_broker, remove_users, uri_for
    vhost = amqp_uri.rsplit("/", 1)[1]
    prefix = f"ctest{os.getpid()}"
    # Two state agencies' users: the push's readers (tests/integration/test_public_push.py).
    users = broker_users(service_sources(), agencies=("CA", "NV"))
    passwords = {user.process: secrets.token_hex(24) for user in users}
    forget_users_of_ended_sessions()
    provision_broker(users, passwords, vhost=vhost, admin_uri=amqp_uri, prefix=prefix)
    yield {user.process: uri_for(user, passwords[user.process], vhost=vhost, prefix=prefix)
           for user in users}
    remove_users(users, prefix)
