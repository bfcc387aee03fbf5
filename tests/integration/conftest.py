# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Fixtures of sluice's integration tests.

`harness` gives each test its own lab, cgroup and pin directory, and takes
all of it down after the test, passed or failed. Tests that need sluiced
running use `sluice` (the harness with the daemon started and an iperf3
server listening) instead.
"""
import pytest

import sluice_lab


@pytest.fixture
def requirements():
    why = sluice_lab.missing_requirements()
    if why:
        pytest.skip(why)


@pytest.fixture
def harness(requirements, tmp_path):
    h = sluice_lab.Harness(tmp_path)
    try:
        h.up()
        yield h
    finally:
        h.close()


@pytest.fixture
def sluice(harness):
    harness.start_daemon()
    harness.iperf_server()
    return harness
