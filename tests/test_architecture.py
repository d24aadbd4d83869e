"""A2 of issue 16: the architecture stays easy to see. Capabilities are types
(no ``hasattr`` in the package), names are turned into objects only by the
scenario registry (no ``kind ==`` / ``name ==`` chains elsewhere), the
registry and the public API agree, and the package's modules import each
other without cycles (``python tests/scripts/import_cycles.py``)."""

import re
import subprocess
import sys
from pathlib import Path

import mfsim
from mfsim._scenario import registry

PACKAGE = Path(mfsim.__file__).parent
ENTRY_DIRS = ("systems", "tasks", "monitors")


def _sources():
    return [(p, p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_hasattr_in_the_package():
    found = [f"{p}:{i + 1}" for p, text in _sources()
             for i, line in enumerate(text.splitlines()) if "hasattr(" in line]
    assert not found, found


def test_no_name_if_chains_outside_the_registry_entries():
    pattern = re.compile(r"\b(kind|name)\s*==")
    found = []
    for p, text in _sources():
        rel = p.relative_to(PACKAGE).parts
        if rel[0] == "_scenario" and len(rel) > 2 and rel[1] in ENTRY_DIRS:
            continue  # an entry may look at its own options
        found += [f"{p}:{i + 1}" for i, line in enumerate(text.splitlines())
                  if pattern.search(line)]
    assert not found, found


def test_entries_never_check_another_entrys_name():
    """What a task or system offers a monitor is a capability type
    (:mod:`mfsim._scenario.tasks.capabilities`, :mod:`mfsim._system`),
    never a comparison with its name."""
    pattern = re.compile(r"\b(task|system)\.kind\s*(==|!=|in\b|not in\b)")
    found = [f"{p}:{i + 1}" for p, text in _sources()
             for i, line in enumerate(text.splitlines()) if pattern.search(line)]
    assert not found, found


def test_no_string_switches_in_the_numerical_core():
    """Issue 35, A2: parameterizations, initializations, the Wasserstein and
    NTK methods and the solvers are objects in the core."""
    pattern = re.compile(r'parameterization ==|init_kind ==|method ==|== "euler"|== "tsit5"')
    found = [f"{p}:{i + 1}" for p, text in _sources()
             if p.relative_to(PACKAGE).parts[0] in ("_systems", "_solve", "_monitors", "_kernels")
             for i, line in enumerate(text.splitlines()) if pattern.search(line)]
    assert not found, found


def test_the_package_root_holds_at_most_five_modules():
    assert len(list(PACKAGE.glob("*.py"))) <= 5, sorted(p.name for p in PACKAGE.glob("*.py"))


def test_no_import_cycles():
    script = Path(__file__).parent / "scripts" / "import_cycles.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 import cycles" in out.stdout


def test_registry_and_public_api_agree():
    for entry in registry.SYSTEMS.values():
        assert getattr(mfsim, entry.system.__name__) is entry.system, entry.name
    for entry in registry.MONITORS.values():
        assert getattr(mfsim, entry.monitor.__name__) is entry.monitor, entry.name
        # every monitor fits at least one registered system
        assert any(entry.fits(s.system) for s in registry.SYSTEMS.values()), entry.name
    for name in ("AbstractParticleSystem", "AbstractInvariantSystem", "AbstractScalarOutputSystem",
                 "AbstractInfiniteWidthSystem", "AbstractLinearMapSystem",
                 "AbstractLinearPredictorSystem", "AbstractSequenceModel", "AbstractLossSystem"):
        assert isinstance(getattr(mfsim, name), type), name


def test_monitor_requirements_are_types_checked_by_isinstance():
    net = registry.SYSTEMS["two_layer"].system
    assert mfsim.Wasserstein.supports(net) and mfsim.KernelMonitor.supports(net)
    deep = registry.SYSTEMS["deep_linear"].system
    assert not mfsim.KernelMonitor.supports(deep)  # vector outputs
    assert mfsim.KernelMonitor.missing(deep) == (mfsim.AbstractScalarOutputSystem,)
    assert not mfsim.Wasserstein.supports(deep)


def test_importing_mfsim_leaves_jax_in_32_bit_mode():
    """A4: importing mfsim changes no JAX setting."""
    code = "import jax, mfsim; print(jax.numpy.zeros(1).dtype)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "float32", out.stdout + out.stderr


def test_float64_scenarios_run_without_64_bit_mode_switched_on():
    """A4: mfsim.run switches 64-bit mode on for a float64 scenario only while
    it runs; the caller's setting is left as it was."""
    code = (
        "import jax, mfsim\n"
        "ds = mfsim.run({'name': 'f64', 'dtype': 'float64', 'system': {'width': 8},\n"
        "               'task': {'d': 2, 'n_train': 8, 'n_test': 8},\n"
        "               'solver': {'t1': 1.0}, 'save': {'n': 3}})\n"
        "print(ds.train_loss.dtype, jax.config.jax_enable_x64, jax.numpy.zeros(1).dtype)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["float64", "False", "float32"], out.stdout + out.stderr
