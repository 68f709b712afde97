"""Fixtures for the interop suite: which brokers to test, and how to reach them.

Every test that takes the `broker` fixture runs once per broker: our own (`samsa`, at
SAMSA_BOOTSTRAP) and Tansu (`tansu`, at TANSU_BOOTSTRAP), a third-party Kafka-compatible
broker that keeps the tests themselves honest: a check that fails on Tansu for a reason that
is not one of Tansu's documented quirks is a wrong check.

Skips are explicit and narrow:
* `samsa` is skipped only when the samsa binary has no `broker` subcommand yet. If it has
  one, SAMSA_BOOTSTRAP must be set (.ci/run starts the broker), or the tests error.
* `@pytest.mark.samsa_only`: behaviour that Tansu does not implement (bad-input handling,
  restarts with a disk log); skipped on Tansu, with the reason in the report.
* `@pytest.mark.tansu_quirk("why")`: a documented Tansu deviation (../shared/peers/README.md)
  makes that check meaningless on Tansu; skipped there with the quirk as the reason.
INTEROP_RUN_ALL=1 runs both kinds against Tansu anyway (to debug the tests themselves).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from own_broker import samsa_bin


SAMSA_BIN = samsa_bin()
_SUBCOMMANDS: dict[str, bool] = {}


def samsa_has(subcommand: str) -> bool:
    """Whether this samsa binary implements `samsa <subcommand>`."""
    if subcommand not in _SUBCOMMANDS:
        ok = False
        if SAMSA_BIN and os.access(SAMSA_BIN, os.X_OK):
            # swift-argument-parser prints the root help (exit 0) for an unknown word before
            # --help, so look for the subcommand's own usage line.
            try:
                p = subprocess.run([SAMSA_BIN, *subcommand.split(), "--help"], capture_output=True,
                                   timeout=30)
                ok = p.returncode == 0 and f"USAGE: samsa {subcommand}".encode() in p.stdout
            except subprocess.TimeoutExpired:
                ok = False
        _SUBCOMMANDS[subcommand] = ok
    return _SUBCOMMANDS[subcommand]


def require_samsa(*subcommands: str):
    """Skip (with the reason) only when the binary lacks one of these subcommands."""
    if SAMSA_BIN is None:
        pytest.fail("no samsa binary: set SAMSA_BIN or run `swift build --product samsa` first")
    for sub in subcommands:
        if not samsa_has(sub):
            pytest.skip(f"`samsa {sub}` is not implemented in {SAMSA_BIN} yet")


@dataclass(frozen=True)
class BrokerUnderTest:
    name: str           # "samsa" or "tansu"
    bootstrap: str      # host:port
    kcat: str           # a kcat whose librdkafka can talk to this broker

    @property
    def is_samsa(self) -> bool:
        return self.name == "samsa"


def _kcat_debian() -> str:
    return os.environ.get("KCAT") or shutil.which("kcat") or "/usr/bin/kcat"


def _kcat216() -> str:
    return os.environ.get("KCAT216") or "/opt/peers/bin/kcat216"


def _broker(name: str) -> BrokerUnderTest:
    if name == "samsa":
        bootstrap = os.environ.get("SAMSA_BOOTSTRAP", "")
        if not bootstrap:
            if samsa_has("broker") or os.environ.get("SAMSA_EXPECT_BROKER") == "1":
                pytest.fail("samsa has a `broker` subcommand but SAMSA_BOOTSTRAP is not set "
                            "(.ci/run starts the broker and sets it)")
            pytest.skip(f"`samsa broker` is not implemented in {SAMSA_BIN} yet")
        # Debian's kcat (librdkafka 2.0.2) is the client issue 4 names: our broker must serve it.
        return BrokerUnderTest("samsa", bootstrap, _kcat_debian())
    bootstrap = os.environ.get("TANSU_BOOTSTRAP", "")
    if not bootstrap:
        if os.environ.get("CI") == "true":
            pytest.fail("TANSU_BOOTSTRAP is not set in CI (.ci/run starts Tansu)")
        pytest.skip("TANSU_BOOTSTRAP not set")
    # Debian's kcat cannot parse Tansu's ApiVersions response (peers README): use kcat216.
    return BrokerUnderTest("tansu", bootstrap, _kcat216())



# INTEROP_BROKERS narrows the brokers under test: .ci/run's 3-node pass sets "samsa" (Tansu
# already ran in the single-broker pass; there is no Tansu cluster).
BROKERS = [b for b in os.environ.get("INTEROP_BROKERS", "samsa,tansu").split(",") if b]


@pytest.fixture(params=BROKERS)
def broker(request) -> BrokerUnderTest:
    b = _broker(request.param)
    if b.name == "tansu" and os.environ.get("INTEROP_RUN_ALL") != "1":
        if request.node.get_closest_marker("samsa_only"):
            pytest.skip("samsa-only: Tansu does not implement this behaviour")
        quirk = request.node.get_closest_marker("tansu_quirk")
        if quirk:
            pytest.skip(f"Tansu quirk: {quirk.args[0]}")
    return b


@pytest.fixture
def topic_name(request) -> str:
    """A fresh topic name per test (the brokers are shared by the whole session)."""
    base = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:60]
    return f"it-{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def group_name(request) -> str:
    return f"g-{request.node.name.split('[')[0][:40]}-{uuid.uuid4().hex[:8]}"
