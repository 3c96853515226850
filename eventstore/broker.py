"""One broker user per process, allowed its own exchanges and queues and nothing else.

RabbitMQ checks three patterns per user and virtual host (configure: declare and delete; write:
publish, and bind a queue; read: consume, and bind to an exchange) and, on a topic exchange,
the routing keys a user may publish with and bind with (topic permissions). Every process must
use the RPC exchange, so the patterns alone cannot keep a client from binding ``#`` to it and
copying every request and every answer; the topic permissions do: a service binds only its own
methods (``<service>.*``) and its answer queues (a uuid), publishes calls only to the kernel's
methods of the services it catches up with, and answers (a uuid); the gateway calls the
services' methods and binds only its answer queues.

    users = broker_users({"membership": ["cycles"], "cycles": ["membership"]})
    provision_broker(users, passwords, vhost="/")

A consumer declares none of its sources' exchanges (that would take configure on another
service's exchange, which also allows deleting it): ``provision_broker`` declares every
service's exchange first, as deployments declare databases. See
docs/decisions/004-tenancy-and-identity.md.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

import amqp.exceptions
import kombu

RPC_EXCHANGE = "nameko-rpc"
# The agencies' exchange (eventstore.push): services publish their public forms there, routed
# <state>.<service>.<type>; an agency binds its own queues to its state's keys.
PUBLIC_EXCHANGE = "consortium.public"
DEAD_LETTER_EXCHANGE = "consortium.dead-letters"
# The kernel's own RPC methods: what one service may call of another (catch-up), and an
# operator's console of its own service.
KERNEL_METHODS = ("ping", "read_events", "catch_up", "dead_letters", "replay_dead_letter")
# nameko's answer queues are bound by a uuid, the routing key an answer is published with.
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
GATEWAY = "gateway"


@dataclass(frozen=True)
class BrokerUser:
    process: str
    configure: str
    write: str
    read: str
    # exchange -> (routing keys it may publish with, routing keys it may bind with)
    topics: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The services whose events it consumes (a service); their exchanges must exist before it
    # binds, whether or not the source runs yet.
    sources: tuple[str, ...] = ()

    def name(self, prefix: str = "consortium") -> str:
        return f"{prefix}-{self.process}"


def _any(*patterns: str) -> str:
    return "^(" + "|".join(patterns) + ")$"


def events_exchange(service: str) -> str:
    return f"{service}.events"


def service_user(service: str, sources: Iterable[str]) -> BrokerUser:
    """A service: its RPC queue and answer queues, its consumers' queues and dead letters,
    its own events and replay exchanges; it reads its sources' events."""
    s = re.escape(service)
    sources = sorted(set(sources))
    queues = (f"rpc-{s}", rf"rpc\.reply-{s}-.+", rf"evt-[a-z]+-[A-Za-z]+--{s}\..+",
              rf"dead-letters\.{s}")
    exchanges = (re.escape(RPC_EXCHANGE), rf"{s}\.events", rf"{s}\.replays",
                 re.escape(DEAD_LETTER_EXCHANGE))
    # It publishes to the agencies' exchange, with its own name in the key, and declares nothing
    # there (configure on it would allow deleting it).
    readable = (re.escape(RPC_EXCHANGE), re.escape(DEAD_LETTER_EXCHANGE), rf"{s}\.replays",
                *(re.escape(events_exchange(source)) for source in sources))
    callees = "|".join(re.escape(name) for name in (service, *sources))
    calls = rf"({callees})\.({'|'.join(KERNEL_METHODS)})"
    return BrokerUser(service, configure=_any(*exchanges, *queues),
                      write=_any(*exchanges, re.escape(PUBLIC_EXCHANGE), *queues),
                      read=_any(*readable, *queues),
                      topics={RPC_EXCHANGE: (_any(UUID, calls), _any(rf"{s}\.\*", UUID)),
                              PUBLIC_EXCHANGE: (rf"^[A-Z]{{2}}\.{s}\.[A-Za-z]+$", "^$")},
                      sources=tuple(sources))


def agency_process(state: str) -> str:
    return f"agency-{state.lower()}"


def agency_user(state: str) -> BrokerUser:
    """A state agency: declares, binds and reads its own queues (``agency-<state>.<name>``),
    bound to the agencies' exchange with its own state's routing keys only; publishes
    nowhere, reads no service's exchange or queue."""
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise ValueError(f"a state is two capital letters, not {state!r}")
    own = rf"{re.escape(agency_process(state))}\..+"
    return BrokerUser(agency_process(state), configure=_any(own), write=_any(own),
                      read=_any(re.escape(PUBLIC_EXCHANGE), own),
                      topics={PUBLIC_EXCHANGE: ("^$", rf"^{state}\.")})


def gateway_user(services: Iterable[str]) -> BrokerUser:
    """The gateway: calls every method of the services it serves; its answer queues only."""
    own = _any(re.escape(RPC_EXCHANGE), rf"rpc\.reply-{GATEWAY}-.+")
    services = "|".join(re.escape(name) for name in sorted(services))
    return BrokerUser(GATEWAY, configure=own, write=own, read=own,
                      topics={RPC_EXCHANGE: (rf"^({services})\.[a-z_]+$", f"^{UUID}$")})


def broker_users(sources: dict[str, list[str]],
                 agencies: Iterable[str] = ()) -> list[BrokerUser]:
    """Every process's user: each service (with the services it consumes) and the gateway,
    and each state agency's (by its state) for the agencies' exchange."""
    return [*(service_user(service, consumed) for service, consumed in sorted(sources.items())),
            gateway_user(sources), *(agency_user(state) for state in sorted(set(agencies)))]


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def provision_broker(users: list[BrokerUser], passwords: dict[str, str], vhost: str = "/",
                     admin_uri: str | None = None, prefix: str = "consortium") -> None:
    """Create (or update) each user with its password and permissions on ``vhost``, and
    declare every service's events exchange (as ``admin_uri``, a user that may)."""
    existing = {line.split("\t")[0] for line in rabbitmqctl("list_users").splitlines()[1:]}
    if vhost not in rabbitmqctl("list_vhosts").split():
        rabbitmqctl("add_vhost", vhost)
    for user in users:
        name = user.name(prefix)
        if name in existing:
            rabbitmqctl("change_password", name, passwords[user.process])
        else:
            rabbitmqctl("add_user", name, passwords[user.process])
        rabbitmqctl("set_permissions", "-p", vhost, name, user.configure, user.write,
                    user.read)
        rabbitmqctl("clear_topic_permissions", "-p", vhost, name)
        for exchange, (write, read) in user.topics.items():
            rabbitmqctl("set_topic_permissions", "-p", vhost, name, exchange, write, read)
    if admin_uri is not None:
        # A source that has no process yet (a service consumes the contract of one still being
        # written) gets its exchange too: its consumers bind to it and hear it when it starts.
        services = {u.process for u in users
                    if u.process != GATEWAY and not u.process.startswith("agency-")}
        declare_exchanges(admin_uri, sorted(services.union(*(u.sources for u in users))))


def declare_exchanges(amqp_uri: str, services: Iterable[str]) -> None:
    """The exchanges every process relies on, declared before any process starts."""
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        for name in (*(events_exchange(s) for s in services), RPC_EXCHANGE, PUBLIC_EXCHANGE):
            kombu.Exchange(name, type="topic", durable=True)(channel).declare()
        kombu.Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)(channel).declare()


def ensure_exchange(amqp_uri: str, name: str, kind: str = "topic") -> None:
    """Make sure another service's exchange exists before binding to it, declaring it only
    when it does not: a provisioned broker has it (and a service's user may not declare it);
    a bare test broker lets the process declare it."""
    with kombu.Connection(amqp_uri) as conn:
        try:
            kombu.Exchange(name, type=kind, durable=True, passive=True)(conn.channel()).declare()
            return
        except amqp.exceptions.NotFound:
            pass
        kombu.Exchange(name, type=kind, durable=True)(conn.channel()).declare()


def remove_users(users: list[BrokerUser], prefix: str) -> None:
    for user in users:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user.name(prefix)],
                       capture_output=True, timeout=60, check=False)


def uri_for(user: BrokerUser, password: str, host: str = "localhost", port: int = 5672,
            vhost: str = "/", prefix: str = "consortium") -> str:
    from urllib.parse import quote
    return (f"pyamqp://{quote(user.name(prefix), safe='')}:{quote(password, safe='')}"
            f"@{host}:{port}/{quote(vhost, safe='') if vhost != '/' else ''}")
