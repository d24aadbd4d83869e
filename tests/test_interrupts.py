"""R1 of issue 17 (a small number; tests/scripts/sigint_soak.py runs the full
count): real SIGINTs through a pseudo-terminal at random moments of a sweep
with twins end with exit 130 and the resume message, never a death by
signal; a second SIGINT exits at once; the rerun completes with results
bitwise equal to an uninterrupted run."""

import random
import sys
from pathlib import Path

from scenario_texts import TINY_PROBLEM
from test_resume import assert_same_results

import mfsim

sys.path.insert(0, str(Path(__file__).parent / "scripts"))
from sigint_soak import interrupt_once  # noqa: E402

SWEEP = 'name = "sigint"\n' + TINY_PROBLEM + """[solver]
t1 = 20.0
[save]
n = 9
[compare]
linearized = true
[output]
figures = []
[sweep.grid]
seed = [0, 1, 2, 3, 4, 5]
"""


def test_sigint_through_a_terminal_exits_130_and_resumes_bitwise(tmp_path):
    scenario = tmp_path / "sweep.toml"
    scenario.write_text(SWEEP)
    reference = tmp_path / "ref"
    mfsim.run_scenario(scenario, out=reference, figures=False)
    out = str(tmp_path / "out")
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    for i in range(4):
        code, printed = interrupt_once(str(scenario), out, rng.uniform(0.5, 8.0),
                                       twice=(i == 3), extra=("--quiet",))
        assert code in (0, 130), (seed, i, code, printed)  # never a signal death
        if code == 130:
            assert "interrupted" in printed, (seed, printed)
    code, printed = interrupt_once(str(scenario), out, 600.0, extra=("--quiet",))
    assert code == 0, printed
    assert_same_results(Path(out), reference)
