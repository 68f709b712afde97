"""Fixtures for the fault tests: a broker process per test (own_broker.OwnBroker from the
interop suite, reused), the faultcheck module, and a free temp directory.

Each test starts its own `samsa broker` (SAMSA_BIN or this checkout's .build/debug/samsa) on a
free port with a temp log dir, because it kills, starves or damages it. Every test ends with
faultcheck's verify: every acknowledged record read back at its offset with its value.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "interop"))

import faultcheck  # noqa: E402
from own_broker import OwnBroker, samsa_bin  # noqa: E402


def require_broker():
    binary = samsa_bin()
    if binary is None:
        pytest.fail("no samsa binary: set SAMSA_BIN or run `swift build --product samsa` first")
    return binary


@pytest.fixture
def make_broker(tmp_path):
    """make_broker(**kwargs) -> OwnBroker (not started); every one made is stopped at the end."""
    require_broker()
    made: list[OwnBroker] = []

    def make(**kwargs) -> OwnBroker:
        b = OwnBroker(kwargs.pop("tmp_path", tmp_path), **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


def assert_all_acked_readable(bootstrap: str, acks_path, minimum: int = 1):
    """faultcheck verify, with its summary in the test output; fails on any loss."""
    r = faultcheck.verify(bootstrap, str(acks_path))
    print(r.summary())
    assert r.acked >= minimum, f"only {r.acked} records were acknowledged: the test proves nothing"
    assert r.ok, r.summary()
    return r
