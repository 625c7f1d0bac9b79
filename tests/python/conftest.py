"""Fixtures for the real-client tests: the `mcp-server --demo` binary on a free loopback port.

The binary comes from `POSTURE_MCP_SERVER_BIN`, else `$CARGO_TARGET_DIR/debug/mcp-server`
(`CARGO_TARGET_DIR` defaulting to `~/.cache/posture-advisor/target`, as in
`scripts/test-env.sh`). Build it first with `cargo build -p mcp-server`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
START_ATTEMPTS = 3
DEFAULT_TEST_TIMEOUT_S = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test a pytest-timeout limit unless it sets its own."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TEST_TIMEOUT_S))


def _server_binary() -> Path:
    explicit = os.environ.get("POSTURE_MCP_SERVER_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/posture-advisor/target")
    return Path(target) / "debug" / "mcp-server"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, binary: Path, port: int, stderr_file, demo: bool = True, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.expected_url = f"http://127.0.0.1:{port}/mcp"
        self.stderr_file = stderr_file
        self.proc = subprocess.Popen(
            [str(binary), *(["--demo"] if demo else []), "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._drain_stdout, daemon=True)
        self._reader.start()

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # EOF

    def wait_ready(self, timeout: float) -> str | None:
        """The URL the server printed, or None if it exited or stayed silent until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                return None
            if self.expected_url in line:
                return self.expected_url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def serve(demo: bool = True, env: dict[str, str] | None = None) -> Iterator[_Server]:
    """The mcp-server binary on a free loopback port (demo data, or AWS as `env` configures it)."""
    binary = _server_binary()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"mcp-server binary not found or not executable at {binary}; build it with "
            "`cargo build -p mcp-server` (with CARGO_TARGET_DIR set) or set POSTURE_MCP_SERVER_BIN",
            pytrace=False,
        )
    env = dict(os.environ if env is None else env)
    with tempfile.TemporaryFile(mode="w+") as stderr_file, tempfile.TemporaryDirectory() as data_dir:
        # Each server keeps its runs in its own directory unless the test names
        # a store (a directory, or a DynamoDB table and S3 bucket).
        if "POSTURE_TABLE" not in env:
            env.setdefault("POSTURE_DATA_DIR", data_dir)
        # The suite sends hundreds of requests a second from one address, far
        # above a person's assistant; the per-caller limits have their own
        # tests (tests/integration/server_limits.rs).
        env.setdefault("POSTURE_CALLER_REQUESTS_PER_SECOND", "0")
        server: _Server | None = None
        try:
            for _attempt in range(START_ATTEMPTS):
                server = _Server(binary, _free_loopback_port(), stderr_file, demo, env)
                if server.wait_ready(READY_TIMEOUT_S) is not None:
                    break
                # Exited (port taken between probe and bind?) or never became ready: retry.
                server.stop()
                server = None
            if server is None:
                stderr_file.seek(0)
                pytest.fail(
                    f"{binary} did not print its URL within {READY_TIMEOUT_S}s "
                    f"({START_ATTEMPTS} attempts); stderr:\n{stderr_file.read()[-4000:]}",
                    pytrace=False,
                )
            yield server
        finally:
            if server is not None:
                server.stop()


@pytest.fixture(scope="session")
def mcp_server() -> Iterator[_Server]:
    """The running demo server (object with `.expected_url`, `.proc`)."""
    with serve() as server:
        yield server


@pytest.fixture(scope="session")
def server_url(mcp_server: _Server) -> str:
    return mcp_server.expected_url
