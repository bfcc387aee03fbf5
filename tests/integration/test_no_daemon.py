# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""With no sluiced running and nothing pinned, sluicectl says so and exits 1,
and creates nothing."""
import os

import pytest

from sluice_lab import unique_suffix, run, SLUICECTL


@pytest.mark.parametrize("args", [
    ["status"],
    ["policy", "list"],
    ["dest", "list"],
    ["policy", "add", "198.18.0.1/32", "rate", "50mbit"],
], ids=" ".join)
def test_sluicectl_without_pins_exits_1(requirements, args):
    pin_dir = f"/sys/fs/bpf/sluice-test-{unique_suffix()}"
    p = run([SLUICECTL, "--pin-dir", pin_dir, *args], check=False)
    err = p.stderr.strip()
    assert p.returncode == 1, (
        f"sluicectl {' '.join(args)} with nothing pinned exited {p.returncode}, "
        f"want 1; stderr: {err!r}")
    assert err and len(err.splitlines()) == 1, f"want one line on stderr, got {err!r}"
    assert pin_dir in err or "sluiced" in err, (
        f"message names neither the pin directory nor sluiced: {err!r}")
    assert not os.path.exists(pin_dir), f"sluicectl created {pin_dir}"
