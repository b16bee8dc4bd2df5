"""Serve the sandbox with uvicorn on 127.0.0.1: in a thread (tests, the app) or in front."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.types import ASGIApp

from rekon.errors import RekonError
from rekon.sandbox.app import Faults, SandboxState, build_app
from rekon.sandbox.data import DataConfig, generate


@dataclass
class RunningSandbox:
    url: str
    state: SandboxState
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_state(config: DataConfig | None = None, faults: Faults | None = None) -> SandboxState:
    return SandboxState(generate(config or DataConfig()), faults)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def start_in_thread(state: SandboxState, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Start serving on a free port (or the given one) and return once it accepts requests."""
    url, server, thread = serve_in_thread(build_app(state), host, port)
    return RunningSandbox(url, state, server, thread)


def serve_in_thread(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Serve any ASGI app on a free port (or the given one) in a daemon thread; return its URL
    once it accepts requests, with the server (set should_exit to stop) and the thread."""
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="rekon-sandbox"
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.01)
    return f"http://{host}:{actual}", server, thread


def ensure_free(host: str, port: int) -> None:
    """Refuse a port something already listens on, before saying the sandbox is there."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RekonError(
                f"{host}:{port} is already in use (a sandbox running already?): "
                "choose another port with --port"
            ) from exc


def serve_forever(state: SandboxState, host: str = "127.0.0.1", port: int = 8700) -> None:
    uvicorn.run(build_app(state), host=host, port=port, log_level="warning", access_log=False)


def wait_for_http(url: str, timeout: float = 60.0) -> bool:
    """Poll url until it answers 200 or the timeout passes; True if it answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
