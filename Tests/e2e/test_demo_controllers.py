"""`samsa demo --controllers N` as a developer runs it (issue 13 item 1): dedicated KRaft
controllers plus broker-only nodes, started by one command, that keep running.

`samsa demo --brokers 2 --controllers 3 --no-console`: the demo reports ready, Metadata lists
the 2 brokers, DescribeQuorum (`samsa cluster describe`, forwarded by a broker) shows the 3
controllers as voters with a leader; 20 s later (longer than any start-up bound) every one of
the 5 node processes still runs and the quorum still has a leader: a controller-only node once
cancelled its own listeners and exited 15 s after start. Then Ctrl-C (SIGINT): the demo stops
every node and deletes its data.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from own_broker import samsa_bin  # noqa: E402

SAMSA = samsa_bin()


def node_pids(demo_dir: Path) -> dict[str, int]:
    """The demo's node processes (broker --config <demo>/cluster/<node>/server.properties)."""
    out = subprocess.run(["pgrep", "-af", f"broker --config {demo_dir}/cluster/"], capture_output=True, text=True).stdout
    pids = {}
    for line in out.splitlines():
        m = re.search(rf"{re.escape(str(demo_dir))}/cluster/([^/]+)/server.properties", line)
        if m:
            pids[m.group(1)] = int(line.split()[0])
    return pids


def describe(bootstrap: str) -> dict:
    r = subprocess.run([SAMSA, "cluster", "describe", "--bootstrap-server", bootstrap, "--output", "json"],
                       capture_output=True, text=True, timeout=40)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_demo_with_dedicated_controllers_keeps_running_and_stops_cleanly(tmp_path):
    assert SAMSA, "no samsa binary: set SAMSA_BIN or run `swift build --product samsa` first"
    demo_dir = tmp_path / "demo"
    out = open(tmp_path / "demo.out", "w+")
    proc = subprocess.Popen([SAMSA, "demo", "--brokers", "2", "--controllers", "3", "--no-console", "--rate", "5",
                             "--dir", str(demo_dir)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "SAMSA_LOG_DIR": str(tmp_path)})
    try:
        deadline = time.time() + 150
        bootstrap = None
        while time.time() < deadline and bootstrap is None:
            assert proc.poll() is None, f"demo exited with {proc.returncode}: {(tmp_path / 'demo.out').read_text()[-2000:]}"
            m = re.search(r"Ready in [0-9.]+ s \(bootstrap ([^)]+)\)", (tmp_path / "demo.out").read_text())
            bootstrap = m.group(1) if m else None
            time.sleep(0.5)
        assert bootstrap, f"demo not ready in 150 s: {(tmp_path / 'demo.out').read_text()[-2000:]}"
        first = bootstrap.split(",")[0]
        started = node_pids(demo_dir)
        assert len(started) == 5, f"want 2 brokers + 3 controllers, found {sorted(started)}"

        d = describe(first)
        assert sorted(b["nodeId"] for b in d["brokers"]) == [1, 2], d["brokers"]
        voters = sorted(r["nodeId"] for r in d["quorum"]["replicas"] if r["isVoter"])
        assert voters == [3, 4, 5], d["quorum"]
        assert d["quorum"]["leaderId"] in voters, d["quorum"]

        time.sleep(20)
        now = node_pids(demo_dir)
        assert now == started, f"nodes changed or exited after 20 s: {started} -> {now}"
        d = describe(first)
        assert d["quorum"]["leaderId"] in voters, f"no quorum leader after 20 s: {d['quorum']}"
        assert len(d["brokers"]) == 2, d["brokers"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                for pid in node_pids(demo_dir).values():
                    os.kill(pid, signal.SIGKILL)
                raise
    assert proc.returncode == 0, (tmp_path / "demo.out").read_text()[-2000:]
    assert node_pids(demo_dir) == {}, "demo nodes left running after Ctrl-C"
    assert not (demo_dir / "cluster").exists(), "demo data left without --keep"
