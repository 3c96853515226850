"""The one config loader: every process reads its settings from the environment here.

Defaults are for a developer's machine (``make up``); deployments set the variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEV_DB_PASSWORD = "consortium-dev"

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
        password = _env("CONSORTIUM_DB_PASSWORD", DEV_DB_PASSWORD)
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


def secret(name: str, development_secret: str) -> str:
    """A signing secret from the environment; the built-in development one when unset."""
    return _env(name, development_secret)


def check_secret(name: str, development_secret: str) -> str | None:
    """Why a process must not start with this secret, or None when it may."""
    value = secret(name, development_secret)
    if value == development_secret and not development_mode():
        return (f"{name} is unset (the development secret would be used); set it, or set "
                "CONSORTIUM_DEV_MODE=1 on a developer's machine")
    if len(value) < 32:
        return f"{name} must be at least 32 characters"
    return None


def amqp_uri() -> str:
    return _env("CONSORTIUM_AMQP_URI", "pyamqp://guest:guest@localhost:5672/")


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
    from pathlib import Path
    services = Path(__file__).resolve().parent.parent / "services"
    return sorted(p.parent.name for p in services.glob("*/routes.py"))
