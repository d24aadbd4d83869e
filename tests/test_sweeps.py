"""Sweeps: batched solves equal sequential ones, expansion and its errors,
combined datasets, the CLI's --set, oracle stopping."""

import hashlib
import tomllib
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import mfsim
from mfsim._scenario.assignment import parse_assignment
from mfsim._scenario.load import validate_scenario
from mfsim._scenario.sweep import apply_overrides, expand
from mfsim._solve.simulate import simulate_batch
from mfsim._store.analysis import final_value, oracle_stopping, power_law_fit
from mfsim._store.combine import combine_points
from mfsim._store.results import trajectory_to_dataset
from mfsim.cli import main

REPO = Path(__file__).resolve().parents[1]

TINY = {"name": "tiny", "dtype": "float64",
        "task": {"d": 3, "n_train": 16, "n_test": 8},
        "system": {"width": 8}, "solver": {"t1": 1.0}, "save": {"n": 5}}


class _CompileCount:
    n = 0

    @classmethod
    def on_event(cls, name, duration, **kw):
        if name == "/jax/core/compile/backend_compile_duration":
            cls.n += 1


jax.monitoring.register_event_duration_secs_listener(_CompileCount.on_event)


def _problems(seeds, width=8):
    data = mfsim.teacher_task(jax.random.key(0), d=3, n_train=16, n_test=8, dtype=jnp.float64)
    systems = [mfsim.TwoLayerNetwork(data.x_train, data.y_train, width=width) for _ in seeds]
    states = [s.init(jax.random.key(k)) for s, k in zip(systems, seeds)]
    return systems, states, data


def test_batch_equals_sequential_and_compiles_once():
    systems, states, data = _problems(range(8))
    mons = [mfsim.TrainLoss(), mfsim.TestLoss(data.x_test, data.y_test)]
    kw = dict(n_save=7)
    batch = simulate_batch(systems, states,
                           mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-8, atol=1e-10),
                           monitors=mons, **kw)
    for system, state, traj in zip(systems, states, batch):
        one = mfsim.simulate(system, state,
                             mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-8, atol=1e-10),
                             monitors=mons, **kw)
        assert traj.stats["num_steps"] == one.stats["num_steps"]  # own step sizes
        for name in one.values:
            np.testing.assert_allclose(traj.values[name], one.values[name], rtol=1e-12)
    # eight more seeds of the same shapes: no compilation at all
    systems, states, _ = _problems(range(8, 16))
    before = _CompileCount.n
    again = simulate_batch(systems, states,
                           mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0, rtol=1e-8, atol=1e-10),
                           monitors=mons, **kw)
    assert _CompileCount.n == before and all(t.succeeded for t in again)


def _bitwise_equal(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("solver", ["euler", pytest.param("heun-fixed", marks=pytest.mark.slow),
                                    pytest.param("momentum", marks=pytest.mark.slow)])
def test_fixed_step_batch_is_one_stacked_solve_equal_to_its_members(solver):
    # a fixed-step batch runs as one solve of the stacked state (no masked
    # while-loop); each problem's values, particle snapshots and final state
    # are bitwise those of its own solve (same steps, same operations)
    systems, states, data = _problems(range(4))
    mons = [mfsim.TrainLoss(), mfsim.TestLoss(data.x_test, data.y_test),
            mfsim.ParticleSnapshots(times=(0.0, 0.4, 1.0))]
    method = {"euler": diffrax.Euler(), "heun-fixed": diffrax.Heun(),
              "momentum": mfsim.sgd(momentum=0.9)}[solver]
    settings = mfsim.SolveSettings.of(method, t1=1.0, dt=0.05, adaptive=False)
    kw = dict(n_save=6)
    batch = simulate_batch(systems, states, settings, monitors=mons, **kw)
    vmapped = simulate_batch(systems, states, settings, monitors=mons, stack=False, **kw)
    for system, state, traj, other in zip(systems, states, batch, vmapped):
        assert traj.stats["batch_stacked"] == 1 and other.stats["batch_stacked"] == 0
        one = mfsim.simulate(system, state, settings, monitors=mons, **kw)
        assert traj.succeeded and traj.stats["num_steps"] == one.stats["num_steps"] == 20
        for run in (one, other):
            assert _bitwise_equal((traj.values, traj.value_ts, traj.ts, traj.final_state),
                                  (run.values, run.value_ts, run.ts, run.final_state))
        assert float(traj.t_final) == 1.0


@pytest.mark.slow  # ~10 s
def test_stacked_batch_with_a_failing_member_gives_each_its_own_status():
    # one problem blows up (a 1e3 times larger state): the stacked solve stops,
    # and the batch is solved again vmapped, each problem with its own status
    systems, states, _ = _problems(range(3))
    states[1] = jax.tree.map(lambda x: 1e3 * x, states[1])
    kw = dict(n_save=5, monitors=[mfsim.TrainLoss()])
    batch = simulate_batch(systems, states, mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.5), **kw)
    assert [t.stats["batch_stacked"] for t in batch] == [0, 0, 0]
    for system, state, traj in zip(systems, states, batch):
        one = mfsim.simulate(system, state, mfsim.SolveSettings.of(diffrax.Euler(), t1=2.0, dt=0.5), **kw)
        assert traj.status == one.status and float(traj.t_final) == float(one.t_final)
        assert _bitwise_equal(traj.values, one.values)
    assert [t.succeeded for t in batch] == [True, False, True]


def test_auto_batch_rule():
    # on CPU only fixed-step solves of small states are batched (measured:
    # adaptive seeds lose to sequential solves there); on a GPU, by memory
    from mfsim._solve.batching import CPU_BATCH_MAX_STATE_BYTES, auto_batch_size

    small = jnp.zeros(CPU_BATCH_MAX_STATE_BYTES // 8, jnp.float64)
    large = jnp.zeros(CPU_BATCH_MAX_STATE_BYTES // 8 + 1, jnp.float64)
    assert auto_batch_size(small, 16, "cpu", adaptive=False) == 16
    assert auto_batch_size(small, 16, "cpu", adaptive=True) == 1
    assert auto_batch_size(large, 16, "cpu", adaptive=False) == 1
    assert auto_batch_size(large, 16, "gpu", adaptive=True) == 16
    def adaptive(solver, **kw):
        return mfsim.SolveSettings.of(solver, t1=1.0, **kw).adaptive

    assert adaptive(diffrax.Tsit5()) and not adaptive(diffrax.Euler(), dt=0.1)
    assert not adaptive(diffrax.Tsit5(), adaptive=False, dt=0.1)
    # solver objects at the core: a diffrax solver with an error estimate is adaptive

    assert adaptive(diffrax.Dopri5()) and not adaptive(diffrax.Euler(), dt=0.1)


def test_batch_rejects_different_structures():
    a, sa, _ = _problems([0], width=8)
    b, sb, _ = _problems([1], width=16)
    with pytest.raises(ValueError, match="differs in structure"):
        simulate_batch(a + b, sa + sb, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0))


def test_expand_grid_and_zip_order_and_values():
    s = validate_scenario({**TINY, "sweep": {"grid": {"system": {"width": [4, 8]}},
                                             "zip": {"seed": [0, 1, 2],
                                                     "system.scale": [1.0, 2.0, 3.0]}}})
    points = expand(s)
    assert len(points) == 6
    assert [(p.scenario.system.width, p.scenario.seed, p.scenario.system.scale)
            for p in points] == [(w, k, k + 1.0) for w in (4, 8) for k in range(3)]
    assert all(p.scenario.sweep.empty for p in points)


@pytest.mark.parametrize("sweep, expected", [
    ({"grid": {"system.width": [8, -1]}},
     "sweep.grid.system.width[1] = -1: system.width: must be greater than 0"),
    ({"grid": {"system.widht": [8]}}, "system.widht: unknown key"),
    ({"zip": {"seed": [0, 1], "system.width": [8]}}, "sweep.zip: zip axes must have equal"),
    ({"grid": {"output.dir": ["x"]}}, "sweep.grid.output.dir: output.dir cannot be swept"),
    ({"grid": {"seed": [[0]]}}, "sweep values must be numbers, strings or booleans"),
    ({"grid": {"system.init": ["symmetric"], "system.width": [7]}},
     "system.width: symmetric init needs an even width"),
])
def test_sweep_errors_name_the_key(sweep, expected):
    with pytest.raises(mfsim.ScenarioError, match=None) as e:
        expand(validate_scenario({**TINY, "sweep": sweep}, "F.toml"), "F.toml")
    assert str(e.value).startswith("F.toml: ") and expected in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_set_parses_toml_values_and_makes_lists_axes():
    assert parse_assignment("system.width=[64, 256]") == ("system.width", [64, 256])
    assert parse_assignment("system.activation=tanh") == ("system.activation", "tanh")
    assert parse_assignment("solver.rtol=1e-8") == ("solver.rtol", 1e-8)
    with pytest.raises(mfsim.ScenarioError, match="expected KEY=VALUE"):
        parse_assignment("system.width")
    # issue 34 item 3: a list of bare words needs no TOML quotes
    assert parse_assignment("system.activation=[relu,tanh]") == ("system.activation",
                                                                  ["relu", "tanh"])
    assert parse_assignment("x=[64, relu, 0.5, data/a.npz]") == ("x", [64, "relu", 0.5,
                                                                     "data/a.npz"])
    with pytest.raises(mfsim.ScenarioError) as e:
        parse_assignment("system.activation=[relu, t anh]")
    assert str(e.value) == ("--set 'system.activation=[relu, t anh]': '[relu, t anh]' is not a "
                            "value: a value is TOML (64, 0.5, true, \"relu\", [64, 256]); a bare "
                            "word or path (relu, data/x.npz) is a string, and so is each bare "
                            "word of a list ([relu, tanh])")
    s = apply_overrides(validate_scenario(TINY), {"system.width": [4, 8], "seed": 3})
    assert s.sweep.grid == {"system.width": [4, 8]} and s.seed == 3
    with pytest.raises(mfsim.ScenarioError, match="is a sweep axis"):
        apply_overrides(s, {"system.width": 4})


def test_cli_set_width_sweep(tmp_path, capsys):
    # E2 on a small scenario: --set with a list gives a sweep axis, every point is
    # persisted, the dataset has the axis as a dimension, figures and summary written
    path = tmp_path / "tiny.toml"
    path.write_text('name = "tiny"\n[task]\nd = 3\nn_train = 16\nn_test = 8\n'
                    '[solver]\nt1 = 1.0\n[save]\nn = 5\n')
    out = tmp_path / "run"
    code = main(["run", str(path), "--set", "system.width=[8,16]", "--set", "seed=[0,1,2]",
                 "--out", str(out), "--quiet"])
    assert code == 0
    ds = mfsim.open_results(out)
    assert ds.sizes["width"] == 2 and ds.sizes["seed"] == 3
    assert list(ds["width"].values) == [8, 16]
    assert sorted(p.name for p in (out / "points").iterdir()) == [
        f"p{i:06d}.nc" for i in range(6)]
    lines = (out / "summary.csv").read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("point,system.width,seed,status")
    assert (out / "loss.png").stat().st_size > 0
    # E6: every results file carries provenance and its resolved scenario
    for f in [out / "results.nc", *sorted((out / "points").iterdir())]:
        attrs = xr.open_dataset(f, engine="h5netcdf").attrs
        for key in ("mfsim_version", "jax_version", "diffrax_version", "equinox_version",
                    "ott_jax_version", "device_kind", "git_commit", "dtype"):
            assert attrs[key] not in ("", "unknown"), (f.name, key)
        text = attrs["resolved_scenario"]
        assert hashlib.sha256(text.encode()).hexdigest() == attrs["scenario_sha256"]
        resolved = tomllib.loads(text)
        if f.name == "results.nc":
            assert "seed" not in attrs  # swept: the coordinate holds it
            assert resolved["sweep"]["grid"] == {"system.width": [8, 16], "seed": [0, 1, 2]}
        else:  # a point: its own scenario, seed and width
            i = int(f.name[1:7])
            assert attrs["seed"] == resolved["seed"] == i % 3
            assert resolved["system"]["width"] == [8, 16][i // 3]
            assert "sweep" not in resolved or not resolved["sweep"].get("grid")
    # each point equals a single run of that point
    single = mfsim.run_scenario(path, out=tmp_path / "one",
                                overrides={"system.width": 16, "seed": 2})
    np.testing.assert_allclose(ds["train_loss"].sel(width=16, seed=2),
                               single.dataset["train_loss"], rtol=1e-6)


def test_combine_points_with_different_save_times():
    systems, states, _ = _problems([0, 1])
    short = mfsim.simulate(systems[0], states[0], mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0),
                           n_save=4, monitors=[mfsim.TrainLoss()])
    long = mfsim.simulate(systems[1], states[1], mfsim.SolveSettings.of(diffrax.Tsit5(), t1=2.0),
                          n_save=5, monitors=[mfsim.TrainLoss()])
    ds = combine_points([trajectory_to_dataset(short), trajectory_to_dataset(long)], ["t1"],
                        [2], {"t1": ("t1", [1.0, 2.0])})
    assert ds["train_loss"].dims == ("t1", "save") and ds["t"].dims == ("t1", "save")
    np.testing.assert_allclose(ds["t"].values[0, :4], [0, 1 / 3, 2 / 3, 1.0], rtol=1e-6)
    assert np.isnan(ds["train_loss"].values[0, 4:]).all()
    # a point that stops early on the same grid pads with NaN under the shared "t"
    same = combine_points([trajectory_to_dataset(long), trajectory_to_dataset(long)
                           .isel(t=slice(0, 2))], ["k"], [2], {"k": ("k", [0, 1])})
    assert same["train_loss"].dims == ("k", "t") and np.isnan(same["train_loss"][1, 2:]).all()
    np.testing.assert_allclose(final_value(ds, "train_loss"),
                               [short.values["train_loss"][-1], long.values["train_loss"][-1]])


def test_combine_points_says_when_a_variable_is_described_differently_by_point():
    """Points whose monitor chose differently (Wasserstein's method "auto")
    keep their own descriptions in the merged results, each once."""
    systems, states, _ = _problems([0, 1])
    a, b = (trajectory_to_dataset(mfsim.simulate(s, x, mfsim.SolveSettings.of(diffrax.Tsit5(), t1=1.0),
                                                 n_save=3, monitors=[mfsim.TrainLoss()]))
            for s, x in zip(systems, states))
    b["train_loss"].attrs["description"] = "other"
    ds = combine_points([a, a, b], ["k"], [3], {"k": ("k", [0, 1, 2])})
    first = a["train_loss"].attrs["description"]
    assert ds["train_loss"].attrs["description"] == f"differs by point: {first} | other"
    same = combine_points([a, a], ["k"], [2], {"k": ("k", [0, 1])})
    assert same["train_loss"].attrs["description"] == first


def test_oracle_stopping_and_power_law_fit():
    rng = np.random.default_rng(0)
    y = rng.uniform(size=(3, 4, 10))
    y[0, 1, :] = np.nan  # a point that saved nothing
    t = np.linspace(0, 9, 10)
    ds = xr.Dataset({"risk": (("a", "seed", "t"), y)}, coords={"t": t})
    o = oracle_stopping(ds, "risk")
    want = np.nanmin(np.where(np.isnan(y), np.inf, y), axis=-1)
    want[0, 1] = np.nan
    np.testing.assert_array_equal(o["risk"].values, want)
    np.testing.assert_array_equal(o["t"].values[1], t[np.argmin(y[1], axis=-1)])
    x = np.array([1.0, 2.0, 4.0, 8.0])
    slope, c = power_law_fit(x, 3.0 * x**-0.5)
    assert abs(slope + 0.5) < 1e-12 and abs(c - np.log(3.0)) < 1e-12


def _shipped(name, **changes):
    raw = tomllib.loads((REPO / "scenarios" / f"{name}.toml").read_text())
    for dotted, value in changes.items():
        *tables, last = dotted.split("/")
        node = raw
        for t in tables:
            node = node[t]
        node[last] = value
    return validate_scenario(raw, name)


@pytest.mark.slow
def test_sequence_model_adaptivity_shrunk(tmp_path):
    # C4 at a tenth of the size: the over-parameterized model's oracle risk falls
    # faster with n than the vanilla one's; the learned kernels turn to theta*
    s = _shipped("sequence_model_adaptivity",
                 **{"sweep/grid/task.n": [300.0, 1000.0, 3000.0], "sweep/grid/seed": [0, 1, 2],
                    "sweep/zip/task.N": [3000, 3000, 40],
                    "sweep/zip/solver.t1": [3000.0, 300.0, 30.0], "save/n": 60})
    result = mfsim.run_scenario(s, out=tmp_path / "seq")
    assert result.succeeded
    ds = result.dataset
    risk = oracle_stopping(ds, "risk")["risk"].mean("seed")
    slopes = {k: power_law_fit(ds["n"], risk.sel(kind=k))[0] for k in ds["kind"].values}
    assert slopes["diagonal_sequence"] < slopes["vanilla_sequence"] - 0.1, slopes
    assert -0.45 < slopes["vanilla_sequence"] < -0.2, slopes
    share = ds["kernel_top_share"].isel(eigen_index=-1)
    first, last = share.isel(save=0), final_value(ds.assign(s=share), "s")
    assert np.allclose(first.sel(kind="vanilla_sequence"), last.sel(kind="vanilla_sequence"))
    for kind in ("diagonal_sequence", "adaptive_sequence"):
        assert (last.sel(kind=kind) > first.sel(kind=kind) + 0.01).all(), kind
    assert (tmp_path / "seq" / "vs_n.png").exists()
    assert (tmp_path / "seq" / "kernel_top_share.png").exists()


@pytest.mark.slow  # run by CI after the README's command (keeps it under 10 min)
def test_diagonal_linear_implicit_bias_shrunk(tmp_path):
    s = _shipped("diagonal_linear_implicit_bias",
                 **{"sweep/grid/seed": [0, 1], "sweep/zip/system.alpha": [0.03, 0.3, 3.0],
                    "sweep/zip/solver.t1": [6000.0, 600.0, 30.0], "save/n": 30})
    result = mfsim.run_scenario(s, out=tmp_path / "dl")
    assert result.succeeded
    err = final_value(result.dataset, "beta_error").mean("seed").values
    l1 = final_value(result.dataset, "beta_l1").mean("seed").values
    assert err[0] < err[1] < err[2] and l1[0] < l1[1] < l1[2], (err, l1)
    assert (final_value(result.dataset, "train_loss") < 1e-8).all()
    assert (tmp_path / "dl" / "vs_alpha.png").exists()


@pytest.mark.parametrize("batch,d", [("auto", 5), (8, 4)])
def test_eight_seed_sweep_compiles_the_solve_once(monkeypatch, tmp_path, batch, d):
    # E3: a sweep over 8 seeds (equal shapes) through run_scenario traces (and
    # so compiles) the solve once: one vmapped solve of 8 (batch = 8), or 8
    # sequential solves sharing JAX's cache (auto on CPU for an adaptive solve)
    import mfsim._solve.core as sim

    traces = []
    original = sim._diffeqsolve

    def counting(*args, **kwargs):
        traces.append(1)  # runs when JAX traces the solve, not per step
        return original(*args, **kwargs)

    monkeypatch.setattr(sim, "_diffeqsolve", counting)
    scenario = {**TINY, "name": "eight", "task": {"d": d, "n_train": 11, "n_test": 7},
                "system": {"width": 13, "activation": "tanh"},  # shapes no other test compiles
                "sweep": {"batch": batch}}
    before = _CompileCount.n
    ds = mfsim.run(scenario, seed=list(range(8)))
    assert ds.sizes["seed"] == 8 and len(traces) == 1
    assert _CompileCount.n > before  # it did compile (the solve, data and init kernels)
    # 8 more seeds: nothing new is traced or compiled at all
    again = _CompileCount.n
    mfsim.run(scenario, seed=list(range(8, 16)))
    assert len(traces) == 1 and _CompileCount.n == again
