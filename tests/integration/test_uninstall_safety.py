# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""`sluiced --uninstall` and every other removal touch only what sluice
pinned: a pin directory that is not on bpffs, or is a symlink, is refused
whole; in a real pin directory only sluice's names are removed, and only
when they are BPF objects, never through a link."""
import os
import subprocess

from sluice_lab import run, unique_suffix

SLUICE_NAMES = ("sluice_config", "sluice_policy", "sluice_dest", "sluice_sockops_link")


def uninstall(h, pin_dir):
    return run(h.sluiced_cmd("--uninstall", "--pin-dir", pin_dir), check=False)


def plain_files(d):
    for name in SLUICE_NAMES:
        (d / name).write_text("not a BPF object\n")


def assert_untouched(d):
    for name in SLUICE_NAMES:
        assert (d / name).read_text() == "not a BPF object\n", f"{d / name} was changed"


def test_uninstall_refuses_a_pin_dir_off_bpffs(harness, tmp_path):
    target = tmp_path / "plain"
    target.mkdir()
    plain_files(target)
    p = uninstall(harness, target)
    assert p.returncode != 0, f"uninstall of a plain directory exited 0: {p.stderr}"
    assert "not on a bpf file system" in p.stderr, p.stderr
    assert_untouched(target)


def test_uninstall_refuses_a_pin_dir_that_is_a_symlink(harness, tmp_path):
    h = harness
    target = tmp_path / "plain"
    target.mkdir()
    plain_files(target)
    # A real pin directory on bpffs, holding a real map named like ours.
    real = h.pin_dir.parent / f"sluice-test-real-{unique_suffix()}"
    link_plain = h.pin_dir.parent / f"sluice-test-link-{unique_suffix()}"
    link_real = h.pin_dir.parent / f"sluice-test-link-{unique_suffix()}"
    try:
        real.mkdir()
        run(["bpftool", "map", "create", real / "sluice_config", "type", "array", "key", "4",
             "value", "4", "entries", "1", "name", "sluice_config"])
        os.symlink(target, link_plain)
        os.symlink(real, link_real)
        for link, what in ((link_plain, "a plain directory"), (link_real, "a pin directory")):
            p = uninstall(h, link)
            assert p.returncode != 0, f"uninstall through a symlink to {what} exited 0"
            assert "symlink" in p.stderr, p.stderr
            assert link.is_symlink(), f"the symlink to {what} was removed"
        assert_untouched(target)
        assert (real / "sluice_config").exists(), "the map behind the symlink was unpinned"
    finally:
        for link in (link_plain, link_real):
            if link.is_symlink():
                link.unlink()
        if (real / "sluice_config").exists():
            (real / "sluice_config").unlink()
        if real.is_dir():
            real.rmdir()


def test_uninstall_removes_only_sluice_pins_that_are_bpf_objects(harness, tmp_path):
    h = harness
    h.start_daemon().stop()
    outside = tmp_path / "outside"
    outside.write_text("keep me\n")
    # Foreign entries beside ours: a map of another tool, a link named
    # like one of ours that points outside, a directory named like ours.
    run(["bpftool", "map", "create", h.pin_dir / "other_tool", "type", "array", "key", "4",
         "value", "4", "entries", "1", "name", "other_tool"])
    os.unlink(h.pin_dir / "sluice_classify")
    os.symlink(outside, h.pin_dir / "sluice_classify")
    os.unlink(h.pin_dir / "sluice_events")
    os.mkdir(h.pin_dir / "sluice_events")
    p = uninstall(h, h.pin_dir)
    left = sorted(os.listdir(h.pin_dir))
    assert left == ["other_tool", "sluice_classify", "sluice_events"], (
        f"after uninstall {h.pin_dir} holds {left}; {p.stderr}")
    assert (h.pin_dir / "sluice_classify").is_symlink()
    assert outside.read_text() == "keep me\n", "the file behind a symlink was changed"
    assert "not a BPF object" in p.stderr, p.stderr
    os.unlink(h.pin_dir / "sluice_classify")
    os.rmdir(h.pin_dir / "sluice_events")


def test_cgroup_detach_never_follows_a_link(harness, tmp_path):
    """A stop removes the cgroup links by name; a name that became a
    symlink to a file elsewhere is left, and so is the file."""
    h = harness
    d = h.start_daemon()
    outside = tmp_path / "outside"
    outside.write_text("keep me\n")
    link = h.pin_dir / "sluice_connect6_link"
    subprocess.run(["rm", "-f", str(link)], check=True)
    os.symlink(outside, link)
    assert d.stop() == 0
    assert link.is_symlink() and outside.read_text() == "keep me\n"
    os.unlink(link)
