"""A samsa broker process owned by one test: a temp config and log dir, a free port, start,
kill -9, SIGTERM, restart, and the exit code and log of each run.

Shared by the tests that must stop or damage their broker (Tests/interop/test_restart.py,
every test under Tests/fault/), so the shared CI broker is never touched by them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def samsa_bin() -> str | None:
    """SAMSA_BIN, else the debug (then release) build of this checkout."""
    explicit = os.environ.get("SAMSA_BIN")
    if explicit:
        return explicit
    for cand in (REPO / ".build/debug/samsa", REPO / ".build/release/samsa"):
        if cand.exists():
            return str(cand)
    return None


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, below Linux's ephemeral range (32768-60999).

    A port the kernel hands out for `bind(0)` comes from the ephemeral range, which is also
    where every outgoing connection's source port comes from: between this call and the broker's
    own bind (a cluster node opens its client listener only once it caught up with the metadata
    log, a second or more later), a client connection could take it, and the node failed to
    start with EADDRINUSE (CI, test_leader_cut_off_from_controllers). Ports below the range are
    never assigned as source ports. Never the same port twice in one test run."""
    import random
    for _ in range(1000):
        port = random.randint(20000, 32767)
        if port in _handed_out:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port in 20000-32767")


class OwnBroker:
    """One broker process on `tmp_path`: config in `server.properties`, data in `log_dir`
    (default `tmp_path/logs`), output appended to `broker.log` across restarts.

    `extra` adds or overrides server.properties keys. `nofile`, when set, runs the broker
    under that RLIMIT_NOFILE (soft and hard, like `ulimit -n N` in a subshell). `args` are
    more `samsa broker` options (`--log-file PATH`, `--log-level debug`)."""

    def __init__(self, tmp_path: Path, extra: dict[str, str] | None = None,
                 log_dir: Path | None = None, nofile: int | None = None, args: list[str] | None = None):
        self.port = free_port()
        self.dir = Path(tmp_path)
        self.log_dir = Path(log_dir) if log_dir is not None else self.dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.nofile = nofile
        self.args = list(args or [])
        self.config = self.dir / "server.properties"
        props = {
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            "offsets.topic.num.partitions": "2",
            "group.initial.rebalance.delay.ms": "0",
        }
        props.update(extra or {})
        self.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        self.log_path = self.dir / "broker.log"
        self.log = open(self.log_path, "ab")
        self.proc: subprocess.Popen | None = None
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._run_start = 0  # where the current run's output starts in broker.log

    def _preexec(self):
        if self.nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def spawn(self):
        """Starts the process without waiting for the port (for runs expected to fail)."""
        binary = samsa_bin()
        assert binary, "no samsa binary: set SAMSA_BIN or run `swift build --product samsa` first"
        self.log.flush()
        self._run_start = self.log_path.stat().st_size
        self.proc = subprocess.Popen([binary, "broker", "--config", str(self.config), *self.args],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=self._preexec if self.nofile is not None else None)

    def start(self, timeout: float = 60):
        self.spawn()
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, f"broker exited {self.proc.returncode}: {self.tail()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"broker did not listen on {self.port}: {self.tail()}")

    def wait_ready_or_exit(self, timeout: float = 60) -> int | None:
        """After spawn(): None once the port accepts connections, else the exit code if the
        process exits first; fails if neither happens within `timeout`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            code = self.proc.poll()
            if code is not None:
                return code
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return None
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"broker neither listened nor exited within {timeout}s: {self.tail()}")

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code once the process exits by itself within `timeout`, else None."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def run_output(self) -> str:
        """What the current (or last) run printed."""
        self.log.flush()
        with open(self.log_path, "rb") as f:
            f.seek(self._run_start)
            return f.read().decode(errors="replace")

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_bytes()[-3000:].decode(errors="replace")
