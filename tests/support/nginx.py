"""nginx, as shipped in ``deploy/nginx.conf``, in front of workers on the ports a test chose:
started in a temporary directory (as an unprivileged user when the tests run as root),
stopped by its pid at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
SHIPPED = PROJECT / "deploy" / "nginx.conf"
_SHIPPED_WORKERS = ("127.0.0.1:8001", "127.0.0.1:8002")
_SHIPPED_LISTEN = "listen 127.0.0.1:8080;"
_UNPRIVILEGED = "nobody"


def nginx_binary() -> str | None:
    debian = Path("/usr/sbin/nginx")  # not on a non-root PATH
    return shutil.which("nginx") or (str(debian) if debian.exists() else None)


def configured(worker_ports: Sequence[int], port: int) -> str:
    """The shipped configuration with these workers and this port, nothing else changed."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert _SHIPPED_LISTEN in text and all(w in text for w in _SHIPPED_WORKERS)
    lines = [line for line in text.splitlines() if not any(w in line for w in _SHIPPED_WORKERS)]
    upstream = lines.index("    upstream bot_workers {")
    servers = [
        f"        server 127.0.0.1:{worker_port} max_fails=1 fail_timeout=3s;"
        for worker_port in worker_ports
    ]
    lines[upstream + 2 : upstream + 2] = servers  # after the comment line
    return "\n".join(lines).replace(_SHIPPED_LISTEN, f"listen 127.0.0.1:{port};") + "\n"


@contextlib.contextmanager
def load_balancer(worker_ports: Sequence[int], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx as shipped, in front of ``worker_ports``, listening on ``port``."""
    with nginx_server(configured(worker_ports, port), port) as process:
        yield process


@contextlib.contextmanager
def nginx_server(configuration: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """nginx with ``configuration`` (paths relative to a temporary prefix), once it
    listens on ``port``; stopped gracefully at the end."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed")
    with tempfile.TemporaryDirectory(prefix="bot-test-nginx-") as directory:
        prefix = Path(directory)
        (prefix / "temp").mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(configuration, encoding="utf-8")
        as_user: list[str] = []
        if os.geteuid() == 0:
            as_user = ["runuser", "-u", _UNPRIVILEGED, "--"]
            for path in (prefix, prefix / "temp", conf):
                shutil.chown(path, _UNPRIVILEGED)
        process = subprocess.Popen(
            [
                *as_user,
                binary,
                "-p",
                str(prefix),
                "-c",
                str(conf),
                "-e",
                "stderr",
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_for_port(port, process)
            yield process
        finally:
            process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"nginx stopped at start: {error}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port}")
