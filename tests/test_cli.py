"""CLI and scenario files: bad input gets one line and exit 2 (A5); runs write results."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scenario_texts import TINY_PROBLEM

import mfsim
from mfsim.cli import main

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "scenarios" / "quickstart.toml"

TINY = """
name = "tiny"
""" + TINY_PROBLEM + """[solver]
t1 = 1.0
[save]
n = 5
"""

BAD = {
    "unknown_key": ("[system]\nwidht = 8\n", "system.widht: unknown key; did you mean 'width'? "
                    "allowed keys: kind, width"),
    "unknown_top_key": ("colour = 1\n", "colour: unknown key; allowed keys: name"),
    "wrong_type": ("[system]\nwidth = \"512\"\n", "system.width: must be a valid integer; got '512'"),
    "negative_width": ("[system]\nwidth = -4\n", "system.width: must be greater than 0; got -4"),
    "unknown_activation": ("[system]\nactivation = \"rleu\"\n",
                           "system.activation: got 'rleu'; allowed: relu, tanh, erf, gelu or identity"),
    "unknown_solver": ("[solver]\nname = \"rk4\"\n",
                       "solver.name: unknown name 'rk4'; allowed: euler, heun, bosh3, tsit5, dopri5, "
                       "dopri8, kvaerno5, sra1, shark, sgd, adam"),
    "syntax_error": ("[system\nwidth = 3\n", "TOML syntax error: "),
    "nan": ("[solver]\nt1 = nan\n", "solver.t1: must be a finite number"),
    "euler_without_dt": ("[solver]\nname = \"euler\"\n", "solver.dt: a fixed-step solve needs dt"),
    "odd_symmetric": ("[system]\ninit = \"symmetric\"\nwidth = 7\n",
                      "system.width: symmetric init needs an even width"),
    "unknown_kind": ("[system]\nkind = \"transformer\"\n",
                     "system.kind: unknown kind 'transformer'; allowed: two_layer, mlp, deep_linear"),
    "bad_monitor": ("[[monitors]]\nname = \"loss\"\n",
                    "monitors[0].name: unknown name 'loss'; allowed: train_loss"),
}


def write(tmp_path, name, body, with_name=True):
    path = tmp_path / f"{name}.toml"
    path.write_text((f'name = "{name}"\n' if with_name else "") + body)
    return path


def run_cli(argv, capsys, cwd):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(argv)
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_one_line_exit_2(case, command, tmp_path, capsys):
    body, expected = BAD[case]
    # put the table in a file where top-level keys come first (TOML order rule)
    path = write(tmp_path, case, body)
    code, out, err = run_cli([command, str(path), "--out", str(tmp_path / "out")]
                             if command == "run" else [command, str(path)], capsys, tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_syntax_error_names_the_line(tmp_path, capsys):
    path = write(tmp_path, "syn", "seed = 1\n[solver]\nt1 = = 3\n")
    code, _, err = run_cli(["check", str(path)], capsys, tmp_path)
    assert code == 2 and "line 4" in err


@pytest.mark.parametrize("command", ["check", "run"])
def test_missing_file(command, tmp_path, capsys):
    code, out, err = run_cli([command, str(tmp_path / "nope.toml")], capsys, tmp_path)
    assert code == 2 and err.strip() == f"mfsim: {tmp_path / 'nope.toml'}: no such file"
    assert not (tmp_path / "runs").exists()
    # a bare name is a shipped scenario's (issue 34 item 7: a typo gets a suggestion)
    code, out, err = run_cli([command, "quickstrat"], capsys, tmp_path)
    assert code == 2 and not out
    assert err.strip() == ("mfsim: quickstrat: no such file, and no shipped scenario of that "
                           "name (did you mean quickstart?); mfsim list scenarios names them")
    assert not (tmp_path / "runs").exists()


def test_non_utf8_file(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "x"\ndescription = "caf\xe9"\n')
    code, _, err = run_cli(["check", str(path)], capsys, tmp_path)
    assert code == 2 and "line 2: not valid UTF-8" in err


def test_check_accepts_shipped_quickstart(capsys):
    code, out, err = run_cli(["check", str(QUICKSTART)], capsys, REPO)
    assert code == 0 and err == ""
    first, memory = out.splitlines()
    assert first == f"{QUICKSTART}: ok (scenario 'quickstart'); 1 solve: the network"
    # issue 34 item 7: the estimate, against the device's memory
    assert re.fullmatch(r"  memory estimate \(this cpu device has [\d.]+ [KMGT]B\): "
                        r"[\d.]+ MB \(largest: the vector field's intermediates, [\d.]+ MB\)",
                        memory), memory


def test_check_counts_solves_and_lists_points_by_memory(capsys):
    """Issue 34 item 7: a sweep's solve count (networks, twins) and each
    point's estimate, the largest first."""
    code, out, _ = run_cli(["check", "catapult", "--set", "solver.learning_rate=[1,2]",
                            "--set", "system.width=[64,512]", "--no-memory-check"], capsys, REPO)
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith(
        "ok (scenario 'catapult', 4 sweep points); 12 solves: the network, its linearized "
        "twin and its quadratic twin at each point")
    assert lines[1].startswith("  memory estimate (this cpu device has ")
    assert lines[1].endswith("), per point, largest first:")
    widths = [int(re.search(r"system.width=(\d+)", line)[1]) for line in lines[2:]]
    assert widths == [512, 512, 64, 64]
    unit = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}
    sizes = [float(m[1]) * unit[m[2]] for m in
             (re.search(r": ([\d.]+) ([KMG]?B) \(", line) for line in lines[2:])]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_console_script_bad_input_no_traceback(tmp_path):
    # the installed entry point, in a real process: exit status and stderr
    path = write(tmp_path, "bad", "[system]\nwidth = -1\n")
    exe = Path(sys.executable).with_name("mfsim")
    proc = subprocess.run([str(exe), "run", str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"mfsim: {path}: system.width: must be greater than 0; got -1 (int)"]
    assert not (tmp_path / "runs").exists()


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["frobnicate"])
    assert e.value.code == 2


def test_tiny_run_writes_run_directory(tmp_path, capsys):
    path = write(tmp_path, "tiny", TINY, with_name=False)
    code, out, err = run_cli(["run", str(path), "--quiet"], capsys, tmp_path)
    assert code == 0, err
    run_dir = tmp_path / "runs" / "tiny"
    # .mfsim.lock: the run directory's lock file (mfsim._runner.lock), kept;
    # .mfsim-manifest: the files mfsim wrote (mfsim._runner.manifest)
    written = {"results.nc", "scenario.toml", "provenance.json", "loss.png"}
    assert {p.name for p in run_dir.iterdir()} == {".mfsim.lock", ".mfsim-manifest", *written}
    # (it also names the checkpoint, written during the solve and removed at its end)
    assert set((run_dir / ".mfsim-manifest").read_text().splitlines()) == {
        *written, "checkpoint-network.npz"}
    ds = mfsim.open_results(run_dir)
    assert ds.attrs["status"] == "success" and ds.sizes["t"] == 5
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["dtype"] == "float32"
    assert set(prov["versions"]) >= {"mfsim", "jax", "diffrax", "equinox", "ott-jax"}
    # the resolved scenario is a valid scenario equal to the one that ran
    again = mfsim.load_scenario(run_dir / "scenario.toml")
    assert again == mfsim.load_scenario(path)
    # rerunning the same scenario into the same directory is allowed...
    code, _, _ = run_cli(["run", str(path), "--quiet"], capsys, tmp_path)
    assert code == 0
    # ...a different scenario is refused without --force, and nothing is touched
    before = (run_dir / "results.nc").read_bytes()
    other = write(tmp_path, "other", TINY.replace('name = "tiny"', "").replace("width = 8", "width = 6"))
    code, _, err = run_cli(["run", str(other), "--out", str(run_dir), "--quiet"], capsys, tmp_path)
    assert code == 2 and "different scenario" in err
    assert (run_dir / "results.nc").read_bytes() == before
    code, _, _ = run_cli(["run", str(other), "--out", str(run_dir), "--quiet", "--force"],
                         capsys, tmp_path)
    assert code == 0
    # mfsim plot redraws from the results file
    code, out, _ = run_cli(["plot", str(run_dir), "--format", "svg"], capsys, tmp_path)
    assert code == 0 and (run_dir / "loss.svg").stat().st_size > 0


def test_failed_solve_keeps_partial_results_exit_3(tmp_path, capsys):
    body = TINY.replace("t1 = 1.0", "t1 = 1.0\nmax_steps = 3\nname = \"tsit5\"")
    path = write(tmp_path, "fails", body.replace('name = "tiny"', ""))
    code, _, err = run_cli(["run", str(path), "--quiet"], capsys, tmp_path)
    assert code == 3
    assert "the network's solve stopped at t = " in err and "maximum number of solver steps" in err
    ds = mfsim.open_results(tmp_path / "runs" / "fails")
    assert ds.attrs["status"] != "success"
    assert 0 < ds.attrs["t_final"] < 1.0
    assert 1 <= ds.sizes["t"] < 5 and np.all(np.isfinite(ds["train_loss"]))


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart")
    return mfsim.run_scenario(QUICKSTART, out=out)


def test_quickstart_loss_non_increasing(quickstart_run):
    # A4: gradient flow decreases the training loss between save points.
    loss = np.asarray(quickstart_run.dataset["train_loss"])
    assert quickstart_run.succeeded and loss.size == 60
    assert np.all(np.diff(loss) <= 0), np.diff(loss).max()
    assert loss[-1] < 0.01 * loss[0]  # and it trains


def test_quickstart_results_readable(quickstart_run):
    # A1 (in-suite part): results.nc opens with plain xarray and has the train loss over t
    with xr.open_dataset(quickstart_run.out_dir / "results.nc") as ds:
        assert ds["train_loss"].dims == ("t",)
        assert ds["t"][0] == 0 and float(ds["t"][-1]) == pytest.approx(200.0)
        assert "description" in ds["train_loss"].attrs
    png = quickstart_run.out_dir / "loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


COMPARE = """
name = "cmp"
dtype = "float64"
[task]
d = 3
n_train = 12
n_test = 9
[system]
width = 32
parameterization = "ntk"
activation = "erf"
[solver]
t1 = 5.0
rtol = 1e-10
atol = 1e-12
[save]
n = 6
[compare]
linearized = true
kernels = ["empirical", "analytic"]
"""


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_compare_twins_stored_in_the_same_results(tmp_path, capsys):
    path = write(tmp_path, "cmp", COMPARE, with_name=False)
    code, _, err = run_cli(["run", str(path), "--quiet"], capsys, tmp_path)
    assert code == 0, err
    ds = mfsim.open_results(tmp_path / "runs" / "cmp")
    for prefix in ("", "lin_", "ck_empirical_", "ck_analytic_"):
        assert ds[f"{prefix}train_loss"].dims == ("t",)
        assert ds[f"{prefix}test_loss"].sizes["t"] == 6
        assert ds[f"{prefix}train_outputs"].dims == ("t", "train_point")
        assert ds.attrs[f"{prefix}status"] == "success"
    for prefix in ("lin_", "ck_empirical_", "ck_analytic_"):
        assert ds[f"{prefix}gap"].attrs["description"].startswith("RMS over training inputs")
        assert float(ds[f"{prefix}gap"][0]) == 0.0  # all start from the network's f_0
    # the linearized twin is the empirical-kernel flow (B5, through the scenario path)
    np.testing.assert_allclose(ds["lin_train_outputs"], ds["ck_empirical_train_outputs"],
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ds["lin_test_loss"], ds["ck_empirical_test_loss"], rtol=1e-7)
    # independent check of the stored gap
    want = np.sqrt(np.mean((ds["train_outputs"] - ds["lin_train_outputs"]).values ** 2, axis=1))
    np.testing.assert_allclose(ds["lin_gap"], want, rtol=1e-12)
    assert float(ds["lin_gap"][-1]) > 0


def test_shipped_deep_linear_saxe(tmp_path):
    # the shipped scenario as it is (2-3 s): the modes converge to the teacher's
    # singular values and the balancedness is conserved
    result = mfsim.run_scenario(REPO / "scenarios" / "deep_linear_saxe.toml", out=tmp_path)
    ds = result.dataset
    np.testing.assert_allclose(ds["singular_values"][-1], [3.0, 2.0, 1.0, 0.5], rtol=1e-3)
    assert float(ds["drift_balance_1"].max()) < 1e-9
    assert ds["singular_values"].dims == ("t", "mode")
    assert (tmp_path / "singular_values.png").stat().st_size > 0


OTHER_SYSTEMS = {
    "sequence_adaptive": """
[task]
kind = "sequence"
n = 100.0
N = 16
q = 2.0
[system]
kind = "adaptive_sequence"
orthogonal = true
[solver]
t1 = 20.0
[save]
n = 5
[[monitors]]
name = "risk"
[[monitors]]
name = "learned_kernel"
k = 4
[[monitors]]
name = "invariants"
""",
    "sequence_diagonal": """
[task]
kind = "sequence"
N = 50
[system]
kind = "diagonal_sequence"
depth = 1
[solver]
t1 = 20.0
[save]
n = 5
""",
    "diagonal": """
dtype = "float64"
[task]
kind = "sparse_regression"
d = 20
n_train = 10
sparsity = 2
[system]
kind = "diagonal_linear"
alpha = 0.5
[solver]
t1 = 50.0
rtol = 1e-10
atol = 1e-12
[save]
n = 5
[[monitors]]
name = "train_loss"
[[monitors]]
name = "invariants"
""",
    "mlp": """
[task]
d = 3
n_train = 16
n_test = 8
[system]
kind = "mlp"
widths = [16, 16]
[solver]
t1 = 1.0
[save]
n = 4
[compare]
linearized = true
kernels = ["analytic"]
""",
}


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c == "mlp" else c
                                  for c in sorted(OTHER_SYSTEMS)])
def test_other_systems_from_scenarios(case, tmp_path, capsys):
    path = write(tmp_path, case, OTHER_SYSTEMS[case])
    code, _, err = run_cli(["run", str(path), "--quiet"], capsys, tmp_path)
    assert code == 0, err
    ds = mfsim.open_results(tmp_path / "runs" / case)
    assert ds.attrs["status"] == "success"
    if case.startswith("sequence"):
        assert "risk" in ds and float(ds["risk"][-1]) < float(ds["risk"][0])
    if case == "sequence_adaptive":
        assert ds["kernel_top_share"].dims == ("t", "eigen_index")
        assert float(ds["drift_d_beta"].max()) < 1e-5  # float32 run
    if case == "diagonal":
        assert float(ds["drift_uv"].max()) < 1e-9
    if case == "mlp":
        assert "ck_analytic_train_loss" in ds and "lin_gap" in ds


INCOMPATIBLE = {
    "net_on_sequence": ('[task]\nkind = "sequence"\n',
                        "task.kind: system two_layer cannot be trained on task sequence"),
    "sequence_on_teacher": ('[system]\nkind = "vanilla_sequence"\n',
                            "task.kind: system vanilla_sequence cannot be trained on task teacher;"
                            " allowed: sequence"),
    "test_loss_for_sequence": ('[task]\nkind = "sequence"\n[system]\nkind = "vanilla_sequence"\n'
                               '[[monitors]]\nname = "test_loss"\n',
                               "monitors[0].name: test_loss is not available for system "
                               "vanilla_sequence"),
    "learned_kernel_of_network": ('[[monitors]]\nname = "learned_kernel"\n',
                                  "monitors[0].name: learned_kernel is not available"),
    "vector_targets": ('[task]\nkind = "linear_teacher"\n',
                       "task.kind: task linear_teacher has vector targets: only system "
                       "deep_linear fits it"),
    "analytic_deep_linear": ('[task]\nkind = "sparse_regression"\n[system]\nkind = "deep_linear"\n'
                             '[compare]\nkernels = ["analytic"]\n',
                             "compare.kernels: no infinite-width kernel for system deep_linear"),
}


@pytest.mark.parametrize("case", sorted(INCOMPATIBLE))
def test_incompatible_combinations(case, tmp_path, capsys):
    body, expected = INCOMPATIBLE[case]
    path = write(tmp_path, case, body)
    code, _, err = run_cli(["check", str(path)], capsys, tmp_path)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err


def test_renamed_names_keep_working_with_a_note(tmp_path, capsys):
    """Issue 16 renames: the Wasserstein key `reference` is now `target`; the
    old spelling still works and says so in one line. The command's old name
    `mfsim reference` is gone (issue 35 item 7): an unknown command."""
    path = write(tmp_path, "old", '[[monitors]]\nname = "wasserstein"\nreference = "teacher"\n')
    code, out, err = run_cli(["check", str(path)], capsys, tmp_path)
    assert code == 0 and "ok" in out
    assert err.strip() == (f"mfsim: note: {path}: monitors[0].reference: now spelled target; "
                           "the old spelling is read for now")
    with pytest.warns(mfsim.DeprecatedKeyWarning, match=r"monitors\[0\]\.reference"):
        scenario = mfsim.load_scenario(path)
    assert scenario.monitors[0].target == "teacher"
    with pytest.raises(SystemExit) as e:
        main(["reference"])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and out == "" and "invalid choice: 'reference'" in err


def test_version_short_flag_and_no_hidden_alias_in_help(capsys):
    """issue 34 item 7: -V was refused; the old alias `reference` was listed."""
    import mfsim

    for flag in ("-V", "--version"):
        with pytest.raises(SystemExit) as e:
            main([flag])
        assert e.value.code == 0 and capsys.readouterr().out.strip() == \
            f"mfsim {mfsim.__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "{run,merge,status,submit,check,plot,list,keys}" in out
    assert not [line for line in out.splitlines() if line.split()[:1] == ["reference"]]


def test_status_of_a_single_run(tmp_path, capsys):
    """issue 34 item 5: `mfsim status` of a single run answered 'holds one
    run, not a sweep: nothing to merge' with exit 2; it reports the run."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    run_dir = tmp_path / "runs" / "tiny"
    assert run_cli(["run", str(path), "--quiet"], capsys, tmp_path)[0] == 0
    code, out, err = run_cli(["status", str(run_dir)], capsys, tmp_path)
    assert code == 0 and not err
    assert out.strip() == f"{run_dir}: one run, complete; network: success at t = 1"
    # interrupted: no results yet, a checkpoint kept (as a kill mid-solve leaves it)
    (run_dir / "results.nc").unlink()
    (run_dir / "provenance.json").unlink()
    (run_dir / "checkpoint-network.npz").write_bytes(b"")
    code, out, err = run_cli(["status", str(run_dir)], capsys, tmp_path)
    assert code == 0 and not err
    assert out.strip() == (f"{run_dir}: one run, interrupted (1 checkpoint file(s) kept): "
                           f"mfsim run {run_dir / 'scenario.toml'} --out {run_dir} resumes it")
    (run_dir / "checkpoint-network.npz").unlink()
    code, out, _ = run_cli(["status", str(run_dir)], capsys, tmp_path)
    assert out.strip() == f"{run_dir}: one run, not finished: no results and no checkpoint yet"


def test_keys_prints_one_section_or_kind(tmp_path, capsys):
    """issue 34 item 7: `mfsim keys` printed all 550 lines; `mfsim keys
    solver` prints that section, `mfsim keys two_layer` that kind, a typo
    gets a suggestion."""
    code, everything, _ = run_cli(["keys"], capsys, tmp_path)
    code, out, err = run_cli(["keys", "solver"], capsys, tmp_path)
    assert code == 0 and not err
    assert out.startswith("## `[solver]`") and "`solver.rtol`" in out and "[task]" not in out
    assert out in everything and len(out.splitlines()) < len(everything.splitlines()) / 4
    code, out, _ = run_cli(["keys", "two_layer"], capsys, tmp_path)
    assert code == 0 and '### `system.kind = "two_layer"`' in out and '"mlp"' not in out
    code, out, err = run_cli(["keys", "solvr"], capsys, tmp_path)
    assert code == 2 and not out
    assert err.strip().startswith("mfsim: keys: no section or kind 'solvr' (did you mean "
                                  "solver?); sections: top, task, system, solver,")


@pytest.mark.parametrize("flags, method", [("exact = true", "both"),
                                           ("exact = true\nsinkhorn = false", "exact"),
                                           ("sinkhorn = true", "sinkhorn")])
def test_wasserstein_flags_read_as_method_with_a_note(tmp_path, capsys, flags, method):
    """The former `exact` / `sinkhorn` flags of the Wasserstein monitor are
    read as the `method` they meant, with one note."""
    path = write(tmp_path, "old", f'[[monitors]]\nname = "wasserstein"\n{flags}\n')
    code, out, err = run_cli(["check", str(path)], capsys, tmp_path)
    assert code == 0 and "ok" in out
    assert err.strip().startswith(f"mfsim: note: {path}: monitors[0].")
    assert f"now spelled method = {method!r}; the old spelling is read for now" in err
    with pytest.warns(mfsim.DeprecatedKeyWarning):
        assert mfsim.load_scenario(path).monitors[0].method == method


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["-V"], ["frobnicate"],
                                  ["run", "--no-such-option", "x.toml"], ["run", "--help"]])
def test_quick_answers_import_no_jax(argv):
    """Issue 34 item 6: help, the version and argument errors come before any
    import of JAX (``import mfsim`` imports its public names on first use)."""
    code = ("import sys\nfrom mfsim.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n"
            "    pass\nprint('JAX IMPORTED' if 'jax' in sys.modules else 'no jax', "
            "file=sys.stderr)\n" % argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.stderr.strip().splitlines()[-1] == "no jax", proc.stderr


def test_import_mfsim_is_lazy_and_complete():
    """``import mfsim`` imports no JAX; every public name then resolves, and
    ``dir(mfsim)`` lists them."""
    code = ("import sys, mfsim\nassert 'jax' not in sys.modules\n"
            "missing = [n for n in mfsim.__all__ if getattr(mfsim, n, None) is None]\n"
            "assert not missing, missing\nassert set(mfsim.__all__) <= set(dir(mfsim))\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_run_on_a_terminal_says_at_once_that_it_loads_then_erases_it(tmp_path):
    """Issue 34 item 6: on a terminal, mfsim run shows a line while JAX
    loads; a refusal then replaces it (the terminal shows one line)."""
    import pty

    path = write(tmp_path, "bad", "[system]\nwidth = -1\n")
    leader, follower = pty.openpty()
    exe = Path(sys.executable).with_name("mfsim")
    proc = subprocess.Popen([str(exe), "run", str(path)], cwd=tmp_path, stderr=follower,
                            stdout=subprocess.DEVNULL)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command exited
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 2
    assert shown == (f"mfsim: {path}: loading mfsim and JAX ...\r\x1b[K"
                     f"mfsim: {path}: system.width: must be greater than 0; got -1 (int)\r\n"
                     ).encode()
    assert not (tmp_path / "runs").exists()


def _in_fresh_process(argv, cwd, env=None):
    """``main(argv)`` in a fresh Python: (exit code, stdout, whether jax was imported)."""
    code = ("import sys\nfrom mfsim.cli import main\ntry:\n    code = main(%r)\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print('EXIT', code, 'JAX' if 'jax' in sys.modules else 'NOJAX')\n" % argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env={**os.environ, **(env or {})})
    *out, last = proc.stdout.splitlines()
    _, exit_code, jax = last.split()
    return int(exit_code), "\n".join(out), jax == "JAX"


@pytest.mark.slow  # ~15 s of fresh processes: run by CI after the README's command
def test_a_rerun_of_a_finished_run_reads_back_without_jax(tmp_path):
    """Issue 34 U1: the finished run of the same input (file, --set values,
    mfsim's code) is read back before anything is validated: no JAX import.
    Another input (a --set value) takes the run path, which reads the run
    back too when the resolved scenario is the same."""
    path = write(tmp_path, "tiny", TINY_PROBLEM + "[solver]\nt1 = 1.0\n[save]\nn = 3\n"
                 "[output]\nfigures = []\n")
    code, out, jax = _in_fresh_process(["run", str(path), "--out", "done", "--quiet"], tmp_path)
    assert code == 0 and jax  # the first run solves
    code, out, jax = _in_fresh_process(["run", str(path), "--out", "done"], tmp_path)
    assert code == 0 and not jax
    assert out.startswith(f"{path}: already complete in done/: read back in ")
    code, out, jax = _in_fresh_process(["run", str(path), "--out", "done", "--set",
                                        "solver.t1=1.0"], tmp_path)
    assert code == 0 and jax and "already complete in done/" in out


def test_list_and_keys_answer_from_the_derived_cache_without_jax(tmp_path):
    """Issue 34 U4: once derived for this code, the catalog and the key
    reference are read back (no JAX import), the same text as derived live."""
    env = {"MFSIM_CACHE": str(tmp_path / "cache")}
    first = [_in_fresh_process(argv, REPO, env) for argv in (["list"], ["keys", "solver"])]
    assert all(code == 0 and jax for code, _, jax in first)  # derived, then kept
    again = [_in_fresh_process(argv, REPO, env) for argv in (["list"], ["keys", "solver"])]
    assert all(code == 0 and not jax for code, _, jax in again)
    assert [out for _, out, _ in again] == [out for _, out, _ in first]
    assert len(list((tmp_path / "cache").iterdir())) == 2
