"""R3 of issue 17: faults lose nothing and never destroy a user's files.
A full disk and a read-only directory end in one line that keeps what was
written; corrupt checkpoints and point files (truncated, a flipped byte,
random bytes, numbers changed in a file that still opens) are solved again,
saying so, with results bitwise equal to an undisturbed run; a second run
into a directory in use is refused; --force and reruns remove only files
mfsim names."""

import errno
import os
import shutil

import diffrax
import numpy as np
import pytest
import xarray as xr
from scenario_texts import TINY_PROBLEM
from test_resume import assert_same_results

import mfsim
from mfsim._runner.lock import run_lock
from mfsim._runner.manifest import MANIFEST_FILE, Manifest
from mfsim._store.io import atomic_write_text, recording
from mfsim.cli import main

SWEEP = 'name = "faults"\n' + TINY_PROBLEM + """[solver]
t1 = 2.0
[save]
n = 5
[output]
figures = []
[sweep.grid]
seed = [0, 1, 2]
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The undisturbed sweep."""
    tmp = tmp_path_factory.mktemp("faults_ref")
    (tmp / "s.toml").write_text(SWEEP)
    mfsim.run_scenario(tmp / "s.toml", out=tmp / "ref", figures=False)
    return tmp / "ref"


def cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _copy_run(reference, tmp_path):
    (tmp_path / "s.toml").write_text(SWEEP)
    shutil.copytree(reference, tmp_path / "out")
    return tmp_path / "s.toml", tmp_path / "out"


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path):
    """One flipped byte inside the stored numbers (a byte of padding would
    change nothing): the file still opens."""
    data = bytearray(path.read_bytes())
    if path.suffix == ".nc":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            raw = np.ascontiguousarray(ds["train_loss"].values).tobytes()
        at = bytes(data).find(raw)
        assert at > 0, "the numbers are not stored contiguously"
        data[at + 1] ^= 0xFF
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _random(path):
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _renumber(path):
    """Numbers changed in a file that still opens, its attributes intact."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    ds["train_loss"] = ds["train_loss"] * 2
    path.unlink()
    ds.to_netcdf(path, engine="h5netcdf")


@pytest.mark.parametrize("damage", [_truncate, _flip, _random, _renumber])
def test_a_corrupt_point_file_is_solved_again(damage, reference, tmp_path, capsys):
    scenario, out = _copy_run(reference, tmp_path)
    damage(out / "points" / "p000001.nc")
    code, _, err = cli(["run", str(scenario), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert "p000001.nc" in err and "solved again" in err and len(err.strip().splitlines()) == 1
    assert_same_results(out, reference)


@pytest.mark.parametrize("damage", [_truncate, _flip, _random])
def test_a_corrupt_checkpoint_is_solved_from_the_start(damage, tmp_path):
    import jax

    data = mfsim.teacher_task(jax.random.key(0), d=3, n_train=16, n_test=8)
    net = mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=8)
    kw = dict(n_save=9, monitors=[mfsim.TrainLoss()], checkpoint_every=2)
    store = mfsim.CheckpointFile(tmp_path / "c.npz")
    first = mfsim.simulate(net, 1, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=2.0), checkpoint=store,
                           **kw)
    damage(tmp_path / "c.npz")
    with pytest.warns(mfsim.RecomputedWarning, match="unreadable checkpoint"):
        again = mfsim.simulate(net, 1, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=2.0), checkpoint=store,
                               **kw)
    np.testing.assert_array_equal(again.values["train_loss"], first.values["train_loss"])
    assert again.stats["num_steps"] == first.stats["num_steps"]  # all of it solved again


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_disk_or_read_only_directory_is_one_line(code, tmp_path, capsys,
                                                        monkeypatch):
    (tmp_path / "s.toml").write_text(SWEEP)
    out = tmp_path / "out"
    real = os.replace

    def failing(src, dst, *args, **kwargs):
        if str(dst).endswith("p000002.nc"):  # the third point: after two were written
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    rc, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "p000002.nc: cannot write: " + os.strerror(code) in err
    assert "the files written before are kept" in err
    # what was written is whole, nothing half-written is left
    assert sorted(p.name for p in (out / "points").iterdir()) == ["p000000.nc", "p000001.nc"]
    monkeypatch.setattr(os, "replace", real)
    rc, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"], capsys)
    assert rc == 0, err


def test_a_second_run_into_a_directory_in_use_is_refused(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SWEEP)
    out = tmp_path / "out"
    with run_lock(out):  # another run holds the directory
        code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out)], capsys)
        assert code == 2 and f"another mfsim run (pid {os.getpid()}) is writing here" in err
        assert len(err.strip().splitlines()) == 1
        assert not (out / "scenario.toml").exists()
    # released (as the kernel does for a killed process): the run proceeds
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err


USER_FILES = ["paper_figure_data.nc", "pressure.nc", "raw_measurements.nc",
              "checkpoint-2023.npz", "points/precip.nc", "reference/r_notes.nc",
              ".notes.abcdefgh.tmp", "points/.precip.nc.abcdefgh.tmp",
              # named exactly as mfsim names its own files: kept all the same
              "points/p000009.nc", "checkpoint-network.npz", "reference/r000.nc",
              "parts/p000000-network.nc", "points/.p000009.nc.abcdefgh.tmp"]


def _user_files(root):
    for name in USER_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's {name}")


def test_force_and_reruns_never_remove_a_users_files(reference, tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SWEEP)
    mine = tmp_path / "mine"
    _user_files(mine)
    # not a run directory: refused, and the refusal does not suggest --force
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(mine)], capsys)
    assert code == 2 and "not an mfsim run directory" in err and "--force" not in err
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(mine), "--force",
                        "--quiet"], capsys)
    assert code == 0, err
    assert_same_results(mine, reference)
    # a forced rerun, and a rerun of another scenario with --force, remove mfsim's files only
    other = tmp_path / "other.toml"
    other.write_text(SWEEP.replace("seed = [0, 1, 2]", "seed = [5, 6]"))
    for scenario in (tmp_path / "s.toml", other):
        code, _, err = cli(["run", str(scenario), "--out", str(mine), "--force", "--quiet"],
                           capsys)
        assert code == 0, err
    for name in USER_FILES:
        assert (mine / name).read_text() == f"the user's {name}", name
    # the first scenario's third point went (mfsim wrote it), the user's p000009.nc stayed
    assert sorted(p.name for p in (mine / "points").glob("p0*.nc")) == [
        "p000000.nc", "p000001.nc", "p000009.nc"]


OUTPUT_CASES = {
    # output.dir value, what the working directory holds, expected message after "FILE: "
    "dot": ('"."', {}, "output.dir: .: exists, is not empty and is not an mfsim run directory"),
    "under_a_file": ('"notes.txt/run"', {"notes.txt": "x"},
                     "output.dir: notes.txt/run: lies under notes.txt, which is a file"),
    "the_scenario_itself": ('"s.toml"', {}, "output.dir: s.toml: is the scenario file itself"),
    "symlink_outside": ('"link"', {"link": None},
                        "output.dir: 'link' leads outside the working directory"),
}


@pytest.mark.parametrize("case", sorted(OUTPUT_CASES))
def test_output_path_refusals_name_the_file_and_the_key(case, tmp_path, capsys, monkeypatch):
    value, files, expected = OUTPUT_CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    for name, text in files.items():
        if text is None:
            (work / name).symlink_to(tmp_path)  # a directory outside the working one
        else:
            (work / name).write_text(text)
    (work / "s.toml").write_text(f'name = "s"\n[output]\ndir = {value}\n')
    before = sorted(p.name for p in work.iterdir())
    monkeypatch.chdir(work)
    for command in ("check", "run"):
        code, out, err = cli([command, "s.toml"], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"mfsim: s.toml: {expected}"), err
    assert sorted(p.name for p in work.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_out_pointing_at_a_file_names_the_option(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SWEEP)
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "s.toml")],
                       capsys)
    assert code == 2 and f"{tmp_path / 's.toml'}: --out: " in err
    assert "is the scenario file itself" in err


def test_the_manifest_names_what_mfsim_wrote_and_removes_only_that(tmp_path):
    out = tmp_path / "run"
    (out / "points").mkdir(parents=True)
    manifest = Manifest(out)
    with recording(manifest.record):
        atomic_write_text(out / "points" / "p000000.nc", "mfsim's")
        atomic_write_text(out / "results.nc", "mfsim's")
        atomic_write_text(tmp_path / "outside.txt", "not in the run directory")
    (out / "points" / "p000001.nc").write_text("the user's")
    (out / "points" / ".p000000.nc.abcdefgh.tmp").write_text("a write a kill cut short")
    # a crash cut the last line short; a tampered line points outside
    with open(out / MANIFEST_FILE, "a") as f:
        f.write("../outside.txt\n/etc/passwd\npoints/p0000")
    again = Manifest(out)
    assert again.names == ("points/p000000.nc", "results.nc")
    again.remove_all(keep=frozenset({"results.nc"}))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MANIFEST_FILE, "points/p000001.nc", "results.nc"]
    assert (tmp_path / "outside.txt").exists()
    assert (out / MANIFEST_FILE).read_text() == "results.nc\n"


def test_a_symlink_in_the_manifest_is_not_followed(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "results.nc").write_text("the user's")
    manifest = Manifest(out)
    manifest.record(out / "sub" / "results.nc")
    (out / "sub").symlink_to(victim)  # made after mfsim recorded the name
    Manifest(out).remove_all()
    assert (victim / "results.nc").read_text() == "the user's"


CONCURRENT = {"a": SWEEP, "b": SWEEP.replace("seed = [0, 1, 2]", "seed = [7, 8, 9]")}


@pytest.mark.slow  # 5-10 s: in CI's slow set, keeping the README's command under 10 min
def test_two_runs_started_together_into_one_directory(reference, tmp_path):
    """Two processes, two scenarios, one --out, started at the same moment:
    one runs (its results bitwise those of an undisturbed run), the other is
    refused in one line, whether it meets the lock or the finished directory."""
    import subprocess
    import sys
    from pathlib import Path

    mfsim_cmd = str(Path(sys.executable).with_name("mfsim"))
    for name, text in CONCURRENT.items():
        (tmp_path / f"{name}.toml").write_text(text)
    alone = tmp_path / "alone_b"
    mfsim.run_scenario(tmp_path / "b.toml", out=alone, figures=False)
    out = tmp_path / "shared"
    procs = {name: subprocess.Popen([mfsim_cmd, "run", str(tmp_path / f"{name}.toml"), "--out",
                                     str(out), "--quiet"], cwd=tmp_path, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name in CONCURRENT}
    done = {name: (p.wait(timeout=300), p.stderr.read()) for name, p in procs.items()}
    codes = sorted(code for code, _ in done.values())
    assert codes == [0, 2], done
    winner = next(name for name, (code, _) in done.items() if code == 0)
    _, refusal = next(v for v in done.values() if v[0] == 2)
    assert len(refusal.strip().splitlines()) == 1 and "Traceback" not in refusal
    assert ("another mfsim run" in refusal or "holds the results of a different scenario"
            in refusal), refusal
    assert_same_results(out, reference if winner == "a" else alone)


@pytest.fixture
def small_disk(tmp_path):
    """A real 512 KiB file system (tmpfs): needs root and the mount command,
    as CI has; skipped elsewhere (the simulated faults above still run)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_real_full_disk_then_a_read_only_one(small_disk, reference, tmp_path, capsys):
    """On a real tmpfs: filled so that the sweep runs out of space mid-way
    (ENOSPC: one line, what was written kept and whole), remounted read-only
    (EROFS: one line, nothing changed), then writable and with space again:
    the rerun completes, bitwise equal to the undisturbed run."""
    import subprocess

    (tmp_path / "s.toml").write_text(SWEEP)
    out = small_disk / "out"
    filler = small_disk / "filler"
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler.write_bytes(b"\0" * (free - 48 * 1024))  # room for the first files only
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cannot write: No space left on device" in err and "Traceback" not in err
    assert "the files written before are kept" in err
    assert_only_whole_points(out)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    filler.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"],
                           capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "Read-only file system" in err and "Traceback" not in err
        assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    code, _, err = cli(["run", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert_same_results(out, reference)


def assert_only_whole_points(out):
    """Every point file present opens and passes its checksum."""
    from mfsim._store.points import content_sha256

    for path in sorted((out / "points").glob("*")):
        assert not path.name.startswith("."), f"a temporary file was left: {path.name}"
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
        assert ds.attrs["content_sha256"] == content_sha256(ds), path.name
