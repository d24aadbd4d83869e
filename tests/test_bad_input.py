"""G1: every malformed scenario in tests/bad_scenarios/ gets one line naming the
file, the key path and what is allowed, exit status 2, no traceback and no
output directory; random TOML documents let nothing but ScenarioError escape
the loader."""

import math
import os
import tempfile
from pathlib import Path

import diffrax
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfsim import ScenarioError
from mfsim._scenario.load import load_scenario
from mfsim._scenario.memory import preflight
from mfsim._scenario.sweep import expand, reference_points
from mfsim.cli import main

BAD = Path(__file__).parent / "bad_scenarios"
# files that cannot carry a "# expect:" line of their own
LINKS = {
    "unreadable_symlink_loop.toml": "cannot read: Too many levels of symbolic links",
    "unreadable_dangling_symlink.toml": "no such file",
}


def expected(path: Path) -> str:
    if path.name in LINKS:
        return LINKS[path.name]
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), path
    return first.removeprefix("# expect: ")


CASES = sorted(p.name for p in BAD.iterdir() if p.suffix == ".toml")


def test_the_corpus_covers_every_kind_of_bad_input():
    assert len(CASES) >= 40
    kinds = {name.split("_")[0] for name in CASES}
    assert kinds >= {"syntax", "unknown", "type", "range", "nan", "inf", "sweep", "conflict",
                     "memory", "non", "unreadable", "output", "toml"}
    assert all((BAD / name).is_symlink() for name in LINKS)


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("name", CASES)
def test_bad_scenario(name, command, tmp_path, capsys, monkeypatch):
    path = BAD / name
    monkeypatch.chdir(tmp_path)  # the default output directory would be ./runs/<name>
    code = main([command, str(path)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err and out == "", err
    assert lines[0].startswith(f"mfsim: {path}: "), lines[0]
    assert expected(path) in lines[0], lines[0]
    # nothing from the input can steer the terminal: no control character at all
    assert not any(ord(c) < 32 or ord(c) == 127 for c in err.rstrip("\n")), repr(err)
    assert list(tmp_path.iterdir()) == []  # no output directory, nothing at all


def test_a_directory_is_not_a_scenario(tmp_path, capsys):
    (tmp_path / "dir.toml").mkdir()
    assert main(["check", str(tmp_path / "dir.toml")]) == 2
    assert "is a directory, not a scenario file" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission(tmp_path, capsys):
    path = tmp_path / "secret.toml"
    path.write_text('name = "x"\n')
    path.chmod(0)
    assert main(["check", str(path)]) == 2
    assert "cannot read: Permission denied" in capsys.readouterr().err


def test_memory_check_can_be_skipped_and_names_the_largest_term(tmp_path, capsys):
    path = BAD / "memory_width.toml"
    assert main(["check", str(path), "--no-memory-check"]) == 0
    capsys.readouterr()
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError, match=r"system\.width: the run needs an estimated "
                       r"\d\.\d+ TB of memory \(the state \(68,000,000,000 parameters\)"):
        preflight(expand(scenario), batch=1, source="f", platform="cpu", available=1e12)


# ------------------------------------------------------- random TOML documents
KEYS = ["name", "description", "seed", "dtype", "task", "system", "solver", "save", "monitors",
        "compare", "output", "sweep", "kind", "width", "widths", "d", "n_train", "n_test", "t1",
        "dt", "n", "grid", "zip", "batch", "reference", "dir", "figures", "activation",
        "system.width", "seed", "times", "subsample", "frequencies", "N", "depth", "scale",
        "quantities", "kernels", "linearized", "max_steps", "rtol", "block", "x"]
NAMES = ["two_layer", "mlp", "deep_linear", "teacher", "sinusoids", "sequence", "euler",
         "tsit5", "kernel", "train_loss", "wasserstein", "particle_snapshots", "relu", "auto",
         "float64", "q", "../x", ""]
scalars = st.one_of(
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=600),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25,
)
tables = st.dictionaries(st.sampled_from(KEYS), documents, max_size=8)
# half of the documents are named, so that validation goes past the missing name
tables = st.one_of(tables, tables.map(lambda d: {**d, "name": "x"}))


def _load_like_check(path: str) -> None:
    scenario = load_scenario(path)
    points = expand(scenario, path)
    refs, _ = reference_points(scenario, points, path)
    preflight(points + refs, batch=scenario.sweep.batch, source=path, platform="cpu",
              available=math.inf)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(tables)
def test_random_toml_documents_raise_only_scenario_errors(doc):
    text = tomli_w.dumps(doc)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "random.toml")
        Path(path).write_text(text, encoding="utf-8")
        try:
            _load_like_check(path)
        except ScenarioError as e:
            assert "\n" not in str(e) and str(e).startswith(path)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_random_bytes_raise_only_scenario_errors(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "random.toml")
        Path(path).write_bytes(raw)
        try:
            _load_like_check(path)
        except ScenarioError as e:
            assert "\n" not in str(e)


@pytest.mark.parametrize("config", [
    {"task": {"d": 16, "n_train": 256, "n_test": 64}, "system": {"width": 4096}},
    {"task": {"kind": "sequence", "N": 300}, "system": {"kind": "adaptive_sequence"}},
], ids=["two_layer", "adaptive_sequence"])
def test_memory_estimate_against_xla_memory_analysis(config):
    # the independent answer: XLA's own account (arguments, outputs, temporaries)
    # of the compiled solve; the estimate must be within a factor of 4 of it
    from xla_memory import compiled_solve_bytes

    from mfsim._scenario.build import build
    from mfsim._scenario.load import validate_scenario
    from mfsim._scenario.memory import estimate

    scenario = validate_scenario({"name": "m", "dtype": "float64", "solver": {"t1": 1.0},
                                  "save": {"n": 5}, **config})
    xla = compiled_solve_bytes(build(scenario))
    ratio = estimate(scenario).total / xla
    assert 0.5 < ratio < 4, ratio


SET_CASES = {
    "seed=" + "9" * 5000: "--set 'seed=9999",
    "system.width=" + "[" * 500 + "]" * 500: "nested more than 100 deep",
    "system.activation=\x1b[2J\x1b]0;owned\x07":
        "'\\x1b[2J\\x1b]0;owned\\x07' is not a value: a value is TOML",
    "seed=\nmfsim: done": "--set 'seed=\\nmfsim: done'",
    "solver.name=euler": "solver.dt: a fixed-step solve needs dt",
}


@pytest.mark.parametrize("assignment", sorted(SET_CASES))
def test_hostile_set_values_get_one_clean_line(assignment, tmp_path, capsys, monkeypatch):
    """R2 through --set: huge integers, deep nesting, escape sequences and
    newlines are refused in one line with every control character escaped."""
    path = tmp_path / "ok.toml"
    path.write_text('name = "ok"\n')
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(path), "--set", assignment])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert SET_CASES[assignment] in err, err
    assert not any(ord(c) < 32 or ord(c) == 127 for c in err.rstrip("\n")), repr(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.toml"]


def test_gradient_descent_takes_whole_steps_only():
    """A fixed-step solve whose interval is not a whole number of steps is
    refused (diffrax would clip the last step: not a gradient-descent step)."""
    import mfsim

    with pytest.raises(ValueError, match="not a whole number of steps"):
        mfsim.SolveSettings.of(diffrax.Euler(), t1=10.0, dt=0.3)
    assert mfsim.SolveSettings.of(diffrax.Euler(), t1=10.0, dt=0.1).ts[-1] == pytest.approx(10.0)


def test_a_library_warning_is_one_mfsim_line(tmp_path, capsys, monkeypatch):
    """issue 34 item 10: labels that overflow float32 (task.noise = 1e39)
    are refused cleanly, but numpy's 'RuntimeWarning: overflow encountered
    in cast' leaked above the message with its source line; every line on
    the terminal is mfsim's now."""
    path = tmp_path / "ok.toml"
    path.write_text('name = "ok"\n[task]\nd = 3\nn_train = 8\nn_test = 8\n[system]\n'
                    'width = 8\n[solver]\nt1 = 1.0\n[save]\nn = 3\n')
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(path), "--set", "task.noise=1e39"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "are not finite in float32" in lines[0], err


def test_any_other_library_warning_is_one_note_line(tmp_path, capsys, monkeypatch):
    """A warning mfsim does not report itself is one `mfsim: note:` line,
    said once, not Python's two lines with the source."""
    import warnings

    from mfsim import cli

    def noisy(args):
        for _ in range(2):
            warnings.warn("something odd", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setitem(cli.COMMANDS, "list", noisy)
    assert main(["list"]) == 0
    assert capsys.readouterr().err == "mfsim: note: RuntimeWarning: something odd\n"
