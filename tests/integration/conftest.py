"""The whole platform for HTTP tests: every service and the gateway, each service on its own
database, run exactly as `make up` runs them."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from deploy.runner import existing_services, service_class
from tests.integration.http import Client
from tests.support import Process, ServiceProcess, free_port, http_get, nameko_run, wait_until


def start_service(name: str, database: str, amqp_uri: str,
                  broker_uri: str | None = None) -> ServiceProcess:
    return ServiceProcess(name, f"services.{name}.service:{service_class(name)}", database,
                          amqp_uri, broker_uri=broker_uri)


@contextmanager
def running_platform(new_database, amqp_uri, broker_uris, gateway_env=None):
    """Every service and the gateway, each as its own broker user; ``gateway_env`` adds
    settings (a shorter RPC timeout)."""
    services, databases = {}, {}
    gateway = None
    try:
        for name in existing_services():
            databases[name] = new_database()
            services[name] = start_service(name, databases[name], amqp_uri, broker_uris[name])
        port = free_port()
        gateway = Process(f"gateway-{port}", nameko_run("gateway.service:Gateway"),
                          env={"CONSORTIUM_AMQP_URI": broker_uris["gateway"],
                               "CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{port}",
                               "CONSORTIUM_DEV_MODE": "1", "PYTHONWARNINGS": "ignore",
                               **(gateway_env or {})})
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=60,
                   what="the gateway to be ready")
        yield {"client": Client(port), "db": databases["membership"], "databases": databases,
               "membership": services["membership"], "services": services, "amqp": amqp_uri,
               "gateway": gateway}
    finally:
        if gateway is not None:
            gateway.stop()
        for process in services.values():
            process.stop()


@pytest.fixture(scope="module")
def platform(new_database, amqp_uri, broker_uris):
    with running_platform(new_database, amqp_uri, broker_uris) as running:
        yield running


# The gateway's wait for a service in the fault tests: short, so outages are felt quickly.
QUICK_RPC_TIMEOUT = 3


@pytest.fixture(scope="module")
def impatient_platform(new_database, amqp_uri, broker_uris):
    """The platform with a gateway that waits only QUICK_RPC_TIMEOUT seconds for a service."""
    with running_platform(new_database, amqp_uri, broker_uris,
                          {"CONSORTIUM_RPC_TIMEOUT": str(QUICK_RPC_TIMEOUT)}) as running:
        yield running
