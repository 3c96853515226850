"""The local platform runner: ``python -m deploy.runner up | down | status | provision``.

``up`` provisions one database and role per service, applies migrations, starts every process
that exists (each service with ``nameko run``, later the gateway) in the background, and waits
until each answers its health check. Pid files and logs live in ``.run/`` (git-ignored).
PostgreSQL and RabbitMQ themselves are made available by ``deploy/bootstrap.sh`` first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from eventstore.config import DEV_DB_PASSWORD, Settings
from eventstore.migrate import migrate
from eventstore.provision import ensure_database

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
PIDS = RUN / "pids"
LOGS = RUN / "logs"
SERVICES = ("membership", "cycles", "resources", "scheduling")


@dataclass
class ProcessSpec:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return PIDS / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOGS / f"{self.name}.log"


def existing_services() -> list[str]:
    """The services that have been written so far (a service.py in their folder)."""
    return [s for s in SERVICES if (ROOT / "services" / s / "service.py").is_file()]


def service_class(service: str) -> str:
    # Convention: services/<name>/service.py defines the class <Name>.
    return service.capitalize()


def process_specs() -> list[ProcessSpec]:
    nameko = str(Path(sys.executable).parent / "nameko")
    specs = []
    for service in existing_services():
        settings = Settings.from_env(service)
        specs.append(ProcessSpec(
            name=service,
            command=[nameko, "run", "--config", str(ROOT / "deploy" / "nameko.yaml"),
                     f"services.{service}.service:{service_class(service)}"],
            health_url=f"http://127.0.0.1:{settings.metrics_port}/healthz",
        ))
    gateway = ROOT / "gateway" / "service.py"
    if gateway.is_file():
        port = os.environ.get("CONSORTIUM_HTTP_PORT", "8000")
        specs.append(ProcessSpec(
            name="gateway",
            command=[nameko, "run", "--config", str(ROOT / "deploy" / "nameko.yaml"),
                     "gateway.service:Gateway"],
            health_url=f"http://127.0.0.1:{port}/healthz",
            env={"CONSORTIUM_HTTP_ADDRESS": f"127.0.0.1:{port}"},
        ))
    return specs


def running_pid(spec: ProcessSpec) -> int | None:
    try:
        pid = int(spec.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not _alive(pid):
        spec.pid_file.unlink(missing_ok=True)
        return None
    return pid


def _alive(pid: int) -> bool:
    try:
        # A child of this runner that exited stays a zombie until reaped; reap it here.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by an earlier `up`
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def provision() -> None:
    password = os.environ.get("CONSORTIUM_DB_PASSWORD") or DEV_DB_PASSWORD
    for service in existing_services():
        ensure_database(f"consortium_{service}", service, password, reset_password=True)
        applied = migrate(Settings.from_env(service).database_url,
                          ROOT / "services" / service / "migrations")
        print(f"  {service}: database consortium_{service} ready"
              + (f", applied {len(applied)} migrations" if applied else ""))


def start(spec: ProcessSpec) -> None:
    if running_pid(spec):
        print(f"  {spec.name}: already running")
        return
    PIDS.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(spec.log_file, "ab") as log:
        proc = subprocess.Popen(
            spec.command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore", **spec.env})
    spec.pid_file.write_text(str(proc.pid))
    print(f"  {spec.name}: started (pid {proc.pid}, log {_shown(spec.log_file)})")


def wait_healthy(specs: list[ProcessSpec], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    waiting = list(specs)
    while waiting and time.monotonic() < deadline:
        for spec in list(waiting):
            if running_pid(spec) is None:
                print(f"  {spec.name}: exited; last lines of {spec.log_file}:")
                print(_tail(spec.log_file))
                return False
            if healthy(spec.health_url):
                print(f"  {spec.name}: healthy ({spec.health_url})")
                waiting.remove(spec)
        time.sleep(0.25)
    for spec in waiting:
        print(f"  {spec.name}: not healthy after {timeout:.0f}s; last lines of {spec.log_file}:")
        print(_tail(spec.log_file))
    return not waiting


def stop(spec: ProcessSpec, timeout: float = 20.0) -> None:
    pid = running_pid(spec)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(spec):
        time.sleep(0.1)
    if running_pid(spec):
        os.killpg(pid, signal.SIGKILL)
    spec.pid_file.unlink(missing_ok=True)
    print(f"  {spec.name}: stopped")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def cmd_up() -> int:
    specs = process_specs()
    print("==> databases and migrations")
    provision()
    if not specs:
        print("==> no service processes exist yet; PostgreSQL and RabbitMQ are ready")
        return 0
    print("==> starting processes")
    for spec in specs:
        start(spec)
    print("==> waiting for health checks")
    if not wait_healthy(specs):
        print("up: some processes are not healthy (see above); `make down` stops the rest")
        return 1
    demo = ROOT / "deploy" / "demo.py"
    if demo.is_file():
        print("==> demo data")
        return subprocess.call([sys.executable, "-m", "deploy.demo"], cwd=ROOT,
                               env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return 0


def cmd_down() -> int:
    for spec in reversed(process_specs()):
        stop(spec)
    return 0


def cmd_reset() -> int:
    """Stop everything and drop the services' databases: the next `make up` starts from the
    demo alone. A developer's machine only."""
    from eventstore.config import development_mode
    from eventstore.provision import drop_database
    if not development_mode():
        print("reset: refused outside development mode (CONSORTIUM_DEV_MODE=1): it drops data")
        return 2
    cmd_down()
    for service in existing_services():
        drop_database(f"consortium_{service}")
        print(f"  {service}: database consortium_{service} dropped")
    return 0


def cmd_status() -> int:
    specs = process_specs()
    if not specs:
        print("no service processes exist yet")
    for spec in specs:
        pid = running_pid(spec)
        state = "healthy" if pid and healthy(spec.health_url) else (
            "running, not healthy" if pid else "stopped")
        print(f"{spec.name:12} {state:22} pid={pid or '-':<8} {spec.health_url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.runner")
    parser.add_argument("command", choices=["up", "down", "status", "provision", "reset"])
    args = parser.parse_args(argv)
    if args.command == "provision":
        provision()
        return 0
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status,
            "reset": cmd_reset}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
