"""G5: loading a scenario never executes code, output paths stay inside the
chosen output directory, and a directory that is not this scenario's run
directory is not written into without --force."""

import ast
import os
from pathlib import Path

import pytest
from scenario_texts import TINY_PROBLEM

import mfsim
from mfsim._store.points import inside
from mfsim.cli import main

PACKAGE = Path(mfsim.__file__).parent

TINY = """
name = "tiny"
description = "__import__('os').system('touch pwned') $(touch pwned2) {{7*7}}"
""" + TINY_PROBLEM + """[solver]
t1 = 1.0
[save]
n = 3
[output]
figures = []
"""


def test_the_package_has_no_way_to_execute_data():
    # no eval/exec/compile/__import__ calls, no pickle/marshal/shelve/yaml imports,
    # and every np.load refuses pickles
    calls, imports, loads = [], [], []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                builtin = isinstance(f, ast.Name) and f.id in ("eval", "exec", "compile",
                                                               "__import__")
                method = isinstance(f, ast.Attribute) and f.attr in ("eval", "exec",
                                                                     "__import__")
                if builtin or method:  # (re.compile and XLA's compile are not these)
                    calls.append(f"{path.name}:{node.lineno}")
                if isinstance(f, ast.Attribute) and f.attr == "load" and getattr(
                        f.value, "id", "") == "np":
                    kw = {k.arg: k.value for k in node.keywords}
                    if not (isinstance(kw.get("allow_pickle"), ast.Constant)
                            and kw["allow_pickle"].value is False):
                        loads.append(f"{path.name}:{node.lineno}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "yaml",
                                           "cloudpickle") for n in names):
                    imports.append(f"{path.name}:{node.lineno}")
    assert calls == [] and imports == [] and loads == []


def test_strings_that_look_like_code_are_only_strings(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY)
    # --set values are TOML data too; a value that is not TOML is a plain word or an error
    assert main(["run", "tiny.toml", "--quiet", "--set", "seed=1",
                 "--set", "system.activation=__import__('os')"]) == 2
    assert "--set \"system.activation=__import__('os')\": " in capsys.readouterr().err
    assert main(["run", "tiny.toml", "--quiet"]) == 0
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    ds = mfsim.open_results(tmp_path / "runs" / "tiny")
    assert "__import__('os')" in ds.attrs["resolved_scenario"]


def test_default_output_directory_cannot_leave_the_working_directory(tmp_path, capsys,
                                                                       monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "runs").symlink_to(elsewhere)  # runs/<name> would land outside
    (work / "tiny.toml").write_text(TINY)
    monkeypatch.chdir(work)
    assert main(["run", "tiny.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mfsim: tiny.toml: name: 'runs/tiny' leads outside the working "
                          "directory"), err
    assert list(elsewhere.iterdir()) == []
    # the command line's --out may name any directory
    assert main(["run", "tiny.toml", "--quiet", "--out", str(elsewhere / "chosen")]) == 0


def test_an_output_dir_set_on_the_command_line_is_blamed_on_set(tmp_path, capsys,
                                                                  monkeypatch):
    """Issue 34 item 10: the refusal names --set and the key, and says
    when other --set values were applied to a fault elsewhere."""
    (tmp_path / "tiny.toml").write_text(TINY)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "tiny.toml", "--set", "output.dir=../escaped"]) == 2
    assert capsys.readouterr().err == (
        "mfsim: tiny.toml: --set output.dir: must be a relative path without '..' (inside the "
        "working directory); got '../escaped'; use mfsim run --out for other places\n")
    (tmp_path / "odd.toml").write_text(TINY.replace("width = 8", "width = 7"))
    assert main(["check", "odd.toml", "--set", "system.init=symmetric", "--set",
                 "seed=2"]) == 2
    assert capsys.readouterr().err == (
        "mfsim: odd.toml (with --set system.init='symmetric', seed=2): system.width: "
        "symmetric init needs an even width; got 7\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.toml", "tiny.toml"]


def test_a_directory_that_is_not_a_run_directory_needs_force(tmp_path, capsys):
    (tmp_path / "tiny.toml").write_text(TINY)
    target = tmp_path / "notes"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    assert main(["run", str(tmp_path / "tiny.toml"), "--out", str(target)]) == 2
    assert "is not empty and is not an mfsim run directory" in capsys.readouterr().err
    assert sorted(os.listdir(target)) == ["thesis.tex"]
    assert main(["run", str(tmp_path / "tiny.toml"), "--out", str(target), "--quiet",
                 "--force"]) == 0
    assert (target / "thesis.tex").read_text() == "precious"  # --force writes, never deletes it


@pytest.mark.parametrize("name", ["../x", "a/b", "/abs", ".hidden", "a\\b"])
def test_figure_names_are_plain_file_names(name, tmp_path):
    with pytest.raises(mfsim.MfsimError, match="refusing to write a file named"):
        inside(tmp_path, name)
