"""Operator commands: ``python -m eventstore <command> --service NAME ...``.

    migrate            apply the kernel's and the service's migrations
    relay              run a relay for the service (a standby while another is active)
    dead-letters       list parked messages, or replay one (``replay ID``) or all (``replay all``)
    projections        rebuild the service's projections from zero (``rebuild [NAME]``)
    catch-up           make a running consumer service re-read a source service's log
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import logging
import signal
import sys
from pathlib import Path

from .config import Settings
from .contracts import contracts_of_service
from .errors import ConsortiumError

ROOT = Path(__file__).resolve().parent.parent


def _settings(args) -> Settings:
    base = Settings.from_env(args.service)
    return Settings(
        service=args.service,
        database_url=args.database_url or base.database_url,
        amqp_uri=args.amqp_uri or base.amqp_uri,
        metrics_port=args.metrics_port if args.metrics_port is not None else base.metrics_port,
        relay_batch_size=base.relay_batch_size,
        consumer_delivery_limit=base.consumer_delivery_limit,
    )


def cmd_migrate(args) -> int:
    from .migrate import migrate
    default = ROOT / "services" / args.service / "migrations"
    folder = Path(args.migrations) if args.migrations else default
    applied = migrate(_settings(args).database_url, folder)
    print("\n".join(applied) if applied else f"{args.service}: up to date")
    return 0


def cmd_relay(args) -> int:
    from .events import upcasters_of
    from .metrics import serve_metrics
    from .push import HUB_STATES_SQL, PublicPush
    from .relay import Relay
    from .store import EventStore
    settings = _settings(args)
    try:
        service_cls = getattr(importlib.import_module(f"services.{settings.service}.service"),
                              settings.service.capitalize())
    except (ImportError, AttributeError):
        service_cls = None   # a service outside services/ (a test's) publishes nothing public
    contracts = contracts_of_service(service_cls) if service_cls is not None else []
    push = (PublicPush(settings.service, contracts,
                       getattr(service_cls, "hub_states_sql", HUB_STATES_SQL))
            if any(c.public is not None for c in contracts) else None)
    store = EventStore(None, settings.service, upcasters_of(f"services.{settings.service}"))
    base = Settings.from_env(settings.service)
    relay = Relay(settings.service, settings.database_url, settings.amqp_uri,
                  batch_size=settings.relay_batch_size, store=store,
                  confirm_timeout=base.relay_confirm_seconds,
                  fence_seconds=base.relay_fence_seconds, push=push)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    if settings.metrics_port:
        serve_metrics(settings.metrics_port, {"relay": lambda: (True, "active" if relay.active
                                                                 else "standby")})
    relay.run()
    return 0


def _operations(args, projections: list | None = None):
    """The service's operator controls (eventstore.operations), as the routes use them: an
    action taken here is recorded as this console user's."""
    from .consumers import DeadLetters
    from .db import Database
    from .events import upcasters_of
    from .operations import Operations
    from .store import EventStore
    settings = _settings(args)
    db = Database(settings.database_url, size=2)
    store = EventStore(db, settings.service, upcasters_of(f"services.{settings.service}"))
    return Operations(settings.service, db, store,
                      DeadLetters(db, settings.amqp_uri, settings.service), projections or [])


CONSOLE_ROLE = "operator"


def _console_user() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_dead_letters(args) -> int:
    operations = _operations(args)
    if args.action == "list":
        for letter in operations.dead_letters.list(include_replayed=args.all):
            print(json.dumps(letter, default=str))
        return 0
    if args.id is None:
        print("replay needs an id, or 'all'", file=sys.stderr)
        return 2
    if args.id == "all":
        result = operations.replay_all(_console_user(), CONSOLE_ROLE)
        for letter_id in result["replayed"]:
            print(f"replayed dead letter {letter_id}")
        for refused in result["refused"]:
            print(f"dead letter {refused['id']} not replayed: {refused['detail']}",
                  file=sys.stderr)
        return 1 if result["refused"] else 0
    operations.replay(_console_user(), CONSOLE_ROLE, args.id)
    print(f"replayed dead letter {args.id}")
    return 0


def cmd_projections(args) -> int:
    from .projections import load_projections
    projections = load_projections(args.module or f"services.{args.service}.projections")
    operations = _operations(args, projections)
    # Here the rebuild runs in this process, to its end.
    answer = operations.start_rebuild(_console_user(), CONSOLE_ROLE,
                                      [args.name] if args.name else None, lambda work: work())
    done = operations.rebuild_progress(answer["id"].rsplit("-", 1)[1])
    if done["status"] != "done":
        print(f"rebuild {done['status']}: {done['error']}", file=sys.stderr)
        return 1
    print(f"{', '.join(done['projections'])}: rebuilt from {done['replayed']} events")
    return 0


def cmd_catch_up(args) -> int:
    from .identity import Identity
    from .rpc import signed_rpc
    settings = _settings(args)
    # An operator at the console, signed with the identity secret the services share; the
    # answer comes to a queue the service's broker user may read.
    operator = Identity(sub="operator:cli", role="operator")
    with signed_rpc(settings.amqp_uri, operator, f"{args.service}-cli",
                    timeout=args.timeout) as rpc:
        result = getattr(rpc, args.service).catch_up(args.source)
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventstore", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, fn, help_):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--service", required=True)
        p.add_argument("--database-url")
        p.add_argument("--amqp-uri")
        p.add_argument("--metrics-port", type=int)
        p.set_defaults(fn=fn)
        return p

    command("migrate", cmd_migrate, "apply migrations").add_argument("--migrations")
    command("relay", cmd_relay, "run the relay")
    p = command("dead-letters", cmd_dead_letters, "list or replay dead letters")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("id", nargs="?")
    p.add_argument("--all", action="store_true", help="list replayed letters too")
    p = command("projections", cmd_projections, "rebuild projections")
    p.add_argument("action", choices=["rebuild"])
    p.add_argument("name", nargs="?")
    p.add_argument("--module",
                   help="module with PROJECTIONS (default services.<service>.projections)")
    p = command("catch-up", cmd_catch_up, "re-read a source's log into a consumer service")
    p.add_argument("--source", required=True)
    p.add_argument("--timeout", type=float, default=600)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return args.fn(args)
    except ConsortiumError as exc:
        print(f"{type(exc).__name__}: {exc.detail}", file=sys.stderr)
        return 1
