"""The one config loader: every process reads its settings from the environment here.

Defaults are for a developer's machine (``make up``), and only there (development mode):
deployments set every credential, and a process outside development mode that would fall back
to a default credential refuses to start (``check_credentials``). Signing secrets have no
default at all: ``make up`` generates its own into ``.run/secrets.env`` (``LOCAL_SECRETS``,
git-ignored, reused), which development mode reads when a variable is unset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEV_DB_PASSWORD = "consortium-dev"
DEV_AMQP_URI = "pyamqp://guest:guest@localhost:5672/"
# Secrets `make up` generated on this machine (KEY=value lines); development mode only.
LOCAL_SECRETS = Path(__file__).resolve().parent.parent / ".run" / "secrets.env"
# Signing secrets that were once in this repository: public, so never accepted anywhere.
PUBLIC_SECRETS = frozenset({
    "consortium-development-secret-do-not-use-in-production",
    "consortium-development-identity-secret-not-for-production",
})

# Fixed local ports so a developer can find every process; replicas set METRICS_PORT themselves.
SERVICE_PORTS = {"membership": 8101, "cycles": 8102, "resources": 8103, "scheduling": 8104}
METRICS_PORT_OFFSET = 100  # service HTTP port + 100 = its metrics/health port


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    amqp_uri: str
    metrics_port: int
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.05
    relay_confirm_seconds: float = 10.0
    relay_fence_seconds: float = 15.0
    projection_poll_seconds: float = 0.05
    consumer_delivery_limit: int = 5
    startup_timeout_seconds: float = 30.0
    catch_up_seconds: float = 30.0
    gauge_seconds: float = 5.0
    idempotency_days: float = 7.0

    @classmethod
    def from_env(cls, service: str) -> Settings:
        """Settings of one service process.

        ``CONSORTIUM_DB_<SERVICE>_URL`` overrides the database URL built from the shared
        PostgreSQL host settings; each service has its own database and role of the same name.
        """
        upper = service.upper()
        host = _env("CONSORTIUM_PG_HOST", "localhost")
        port = _env("CONSORTIUM_PG_PORT", "5432")
        password = _env("CONSORTIUM_DB_PASSWORD", "")
        if not password and development_mode():
            # The password `make up` generated for the service's role (operator tools).
            password = local_secrets().get(f"CONSORTIUM_DB_PASSWORD_{upper}", "")
        password = password or DEV_DB_PASSWORD
        default_url = f"postgresql://{service}:{password}@{host}:{port}/consortium_{service}"
        default_metrics = SERVICE_PORTS.get(service, 8199) + METRICS_PORT_OFFSET
        return cls(
            service=service,
            database_url=_env(f"CONSORTIUM_DB_{upper}_URL", default_url),
            amqp_uri=amqp_uri(),
            metrics_port=int(_env("METRICS_PORT", str(default_metrics))),
            relay_batch_size=int(_env("CONSORTIUM_RELAY_BATCH_SIZE", "500")),
            relay_confirm_seconds=float(_env("CONSORTIUM_RELAY_CONFIRM_SECONDS", "10")),
            relay_fence_seconds=float(_env("CONSORTIUM_RELAY_FENCE_SECONDS", "15")),
            consumer_delivery_limit=int(_env("CONSORTIUM_CONSUMER_DELIVERY_LIMIT", "5")),
            startup_timeout_seconds=float(_env("CONSORTIUM_STARTUP_TIMEOUT", "30")),
            catch_up_seconds=float(_env("CONSORTIUM_CATCH_UP_SECONDS", "30")),
            gauge_seconds=float(_env("CONSORTIUM_GAUGE_SECONDS", "5")),
            idempotency_days=float(_env("CONSORTIUM_IDEMPOTENCY_DAYS", "7")),
        )


def development_mode() -> bool:
    """A developer's machine: the development secrets are allowed (never in a deployment)."""
    return _env("CONSORTIUM_DEV_MODE", "") in ("1", "true", "yes")


def local_secrets(path: Path | None = None) -> dict[str, str]:
    """The secrets `make up` generated on this machine (empty if it never ran)."""
    try:
        text = (path or LOCAL_SECRETS).read_text()
    except FileNotFoundError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines()
             if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def secret(name: str) -> str:
    """A signing secret: the environment's; on a developer's machine, the one `make up`
    generated when the variable is unset; else empty (``check_secret`` says why)."""
    value = _env(name, "")
    if not value and development_mode():
        value = local_secrets().get(name, "")
    return value


def check_secret(name: str) -> str | None:
    """Why a process must not start with this secret, or None when it may."""
    value = secret(name)
    if not value:
        return (f"{name} is unset; set it (32+ characters). On a developer's machine "
                "`make up` generates one into .run/secrets.env, read in development mode "
                "(CONSORTIUM_DEV_MODE=1)")
    if value in PUBLIC_SECRETS:
        return f"{name} is a development secret published in the repository; set your own"
    if len(value) < 32:
        return f"{name} must be at least 32 characters"
    return None


def amqp_uri() -> str:
    """This process's broker URI, as its own broker user (the guest default is for a
    developer's tools only: ``check_credentials`` refuses it anywhere else)."""
    return _env("CONSORTIUM_AMQP_URI", DEV_AMQP_URI)


def check_credentials(service: str | None = None) -> str | None:
    """Why a process must not start with its database and broker credentials, or None: outside
    development mode, a credential that is a default of this repository is refused."""
    if development_mode():
        return None
    if not os.environ.get("CONSORTIUM_AMQP_URI"):
        return "CONSORTIUM_AMQP_URI is unset: give the process its own broker user"
    if "guest:guest@" in os.environ["CONSORTIUM_AMQP_URI"]:
        return "CONSORTIUM_AMQP_URI uses RabbitMQ's default guest user: give the process its own"
    if service is not None:
        url = Settings.from_env(service).database_url
        if f":{DEV_DB_PASSWORD}@" in url:
            return (f"the {service} database password is the repository's default: set "
                    f"CONSORTIUM_DB_{service.upper()}_URL or CONSORTIUM_DB_PASSWORD")
    return None


def admin_database_url() -> str:
    """A role that may create databases and roles (provisioning and tests)."""
    password = _env("CONSORTIUM_DB_PASSWORD", DEV_DB_PASSWORD)
    host = _env("CONSORTIUM_PG_HOST", "localhost")
    port = _env("CONSORTIUM_PG_PORT", "5432")
    return _env("CONSORTIUM_PG_ADMIN_URL",
                f"postgresql://consortium_admin:{password}@{host}:{port}/postgres")


def gateway_services() -> list[str]:
    """The services whose routes the gateway serves: ``CONSORTIUM_GATEWAY_SERVICES`` (comma
    separated), or every service that has a route table."""
    named = _env("CONSORTIUM_GATEWAY_SERVICES", "")
    if named:
        return [s.strip() for s in named.split(",") if s.strip()]
    services = Path(__file__).resolve().parent.parent / "services"
    return sorted(p.parent.name for p in services.glob("*/routes.py"))


def route_modules() -> dict[str, str]:
    """Route tables from elsewhere than ``services/<name>/routes.py``, by service:
    ``CONSORTIUM_GATEWAY_ROUTE_MODULES`` (``desk=tests.fixtures.desk.routes``, comma
    separated; a test fixture's, never a deployment's)."""
    pairs = (pair.split("=", 1) for pair in _env(ROUTE_MODULES, "").split(",") if "=" in pair)
    return {service.strip(): module.strip() for service, module in pairs}


ROUTE_MODULES = "CONSORTIUM_GATEWAY_ROUTE_MODULES"


@dataclass(frozen=True)
class GatewaySettings:
    """The gateway's settings (README, Settings): how long it waits for a service and for a
    client, and how many of its workers uploads and link requests may hold."""

    rpc_timeout_seconds: float = 10.0
    read_seconds: float = 10.0
    min_bytes_per_second: float = 65536.0
    upload_slots: int = 4
    link_slots: int = 4

    @classmethod
    def from_env(cls) -> GatewaySettings:
        return cls(
            rpc_timeout_seconds=float(_env("CONSORTIUM_RPC_TIMEOUT", "10")),
            read_seconds=float(_env("CONSORTIUM_HTTP_READ_SECONDS", "10")),
            min_bytes_per_second=float(_env("CONSORTIUM_HTTP_MIN_BYTES_PER_SECOND", "65536")),
            upload_slots=int(_env("CONSORTIUM_HTTP_UPLOADS", "4")),
            link_slots=int(_env("CONSORTIUM_HTTP_LINK_REQUESTS", "4")))
