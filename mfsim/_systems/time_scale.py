"""The ``time_scale`` argument of the linear systems (once ``learning_rate``).

Gradient flow is ``dtheta/dt = -tau grad J``; a gradient-descent learning
rate ``eta`` is Euler with ``dt = eta / tau`` (``solver.learning_rate`` in a
scenario). The linear systems called ``tau`` ``learning_rate``, which read as
the step size of gradient descent: the old keyword is still accepted, with a
DeprecationWarning.
"""

from __future__ import annotations

import warnings


def renamed_time_scale(time_scale, learning_rate):
    """``tau`` from the new keyword, or from the old one (with a warning)."""
    if learning_rate is None:
        return time_scale
    warnings.warn("learning_rate= of a linear system is its time scale tau: pass "
                  "time_scale= (gradient descent's learning rate is solver.learning_rate)",
                  DeprecationWarning, stacklevel=3)
    return learning_rate
