"""Issue 15 item 5: the broker's log file, its rotation with SIGHUP, and the request log.

* `samsa broker --log-file PATH` appends its lines to PATH; after the file is renamed (what
  logrotate does before its `postrotate kill -HUP`), SIGHUP makes the broker reopen PATH: the
  lines before it stay in the renamed file, the later ones go to a new file, every line in both
  is a whole level-prefixed line carrying `node=<id>`, and the broker keeps serving.
* Without --log-file, SIGHUP does not stop the broker (its default action terminates a process
  that does not handle it).
* `--log-level debug` writes one request line per request (api, version, correlation id, client
  id, the client's address).

Before the change `--log-file` was an unknown option (the broker did not start) and SIGHUP
killed the broker.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from helpers import run

# 2026-12-03T11:49:07.587+0000 info samsa.broker: node=1 [Broker] Listening on ...
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d{4} "
                  r"(trace|debug|info|notice|warning|error|critical) samsa\.broker: (\S+=\S* )*\[\w+\] .*$")


def _lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def _assert_level_prefixed(path: Path, lines: list[str]):
    assert lines, f"{path} is empty"
    bad = [ln for ln in lines if not LINE.match(ln) or " node=1 " not in ln]
    assert not bad, f"{path}: lines that are not level-prefixed broker lines with node=1: {bad[:5]}"


def _wait_for(broker, what: str, found, timeout: float = 60):
    """Waits until found() is true, failing at once if the broker process exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert broker.proc.poll() is None, f"broker exited {broker.proc.returncode} waiting for {what}: {broker.tail()}"
        if found():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout}s: {broker.tail()}")


def _produce(broker, topic: str, values: list[str]):
    run(["kcat", "-P", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-X", "acks=all"],
        input="".join(v + "\n" for v in values).encode(), timeout=60)


def _consume(broker, topic: str) -> list[str]:
    out = run(["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e",
               "-f", "%s\\n"], timeout=60)
    return out.stdout.decode().splitlines()


def test_sighup_reopens_the_renamed_log_file(make_broker, tmp_path):
    log_file = tmp_path / "var" / "log" / "samsa" / "broker.log"   # parent directories are created
    rotated = log_file.with_name("broker.log.1")
    broker = make_broker(args=["--log-file", str(log_file)])
    broker.start()

    _produce(broker, "before-rotation", [f"b{i}" for i in range(20)])
    _wait_for(broker, "the auto-creation line of before-rotation",
              lambda: any("Auto-created topic before-rotation" in ln for ln in _lines(log_file)))

    # logrotate without copytruncate: rename, then postrotate `kill -HUP`.
    os.rename(log_file, rotated)
    os.kill(broker.proc.pid, signal.SIGHUP)
    _wait_for(broker, "a new log file after SIGHUP",
              lambda: any("Reopened log file" in ln for ln in _lines(log_file)))

    _produce(broker, "after-rotation", [f"a{i}" for i in range(20)])
    _wait_for(broker, "the auto-creation line of after-rotation",
              lambda: any("Auto-created topic after-rotation" in ln for ln in _lines(log_file)))

    assert broker.proc.poll() is None, "the broker stopped on SIGHUP"
    assert _consume(broker, "before-rotation") == [f"b{i}" for i in range(20)]
    assert _consume(broker, "after-rotation") == [f"a{i}" for i in range(20)]

    old, new = _lines(rotated), _lines(log_file)
    print(f"rotated file: {len(old)} lines, new file: {len(new)} lines")
    _assert_level_prefixed(rotated, old)
    _assert_level_prefixed(log_file, new)
    old_text, new_text = "\n".join(old), "\n".join(new)
    # Start-up and the earlier traffic are in the renamed file, up to the SIGHUP ...
    assert "Listening on" in old_text and "Auto-created topic before-rotation" in old_text
    assert "Received SIGHUP, reopening log file" in old_text and "Reopened log file" not in old_text
    assert "after-rotation" not in old_text
    # ... the later traffic only in the new one.
    assert "Reopened log file" in new_text and "Received SIGHUP" not in new_text
    assert "Auto-created topic after-rotation" in new_text
    assert "before-rotation" not in new_text and "Listening on" not in new_text
    # At info level there is no request log.
    assert "Completed request" not in old_text + new_text
    # Nothing went to stdout/stderr.
    assert not [ln for ln in broker.run_output().splitlines() if LINE.match(ln)], broker.run_output()[-2000:]

    assert broker.terminate() == 0
    assert "Shut down cleanly" in _lines(log_file)[-1]


def test_sighup_without_log_file_does_not_stop_the_broker(make_broker):
    broker = make_broker()
    broker.start()
    _produce(broker, "hup", ["one"])
    os.kill(broker.proc.pid, signal.SIGHUP)
    _wait_for(broker, "the SIGHUP line on stderr", lambda: "Received SIGHUP" in broker.run_output())
    os.kill(broker.proc.pid, signal.SIGHUP)
    _produce(broker, "hup", ["two"])
    assert broker.proc.poll() is None, f"the broker stopped on SIGHUP: {broker.tail()}"
    assert _consume(broker, "hup") == ["one", "two"]
    assert broker.terminate() == 0


def test_debug_level_writes_the_request_log(make_broker, tmp_path):
    log_file = tmp_path / "broker.log"
    broker = make_broker(args=["--log-file", str(log_file), "--log-level", "debug"])
    broker.start()
    run(["kcat", "-P", "-b", broker.bootstrap, "-t", "requests", "-p", "0", "-X", "acks=all",
         "-X", "client.id=log-test-client"], input=b"x\ny\n", timeout=60)

    def produce_lines():
        return [ln for ln in _lines(log_file) if "Completed request api=Produce " in ln]
    _wait_for(broker, "a request line for the Produce", lambda: produce_lines())
    line = produce_lines()[0]
    print(line)
    assert re.search(r" correlation=\d+ ", line), line
    assert re.search(r" version=\d+ ", line), line
    assert " client_id=log-test-client " in line, line
    assert " peer=127.0.0.1:" in line and " node=1 " in line, line
    assert re.search(r" total_ms=\d+\.\d{3}", line), line
    assert " errors=" not in line, line   # the produce succeeded
    assert LINE.match(line), line
    # The client's ApiVersions and Metadata requests are there too.
    text = log_file.read_text()
    assert "Completed request api=ApiVersions " in text and "Completed request api=Metadata " in text
    assert broker.terminate() == 0
