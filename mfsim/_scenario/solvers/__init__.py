"""``[solver]`` entries, one file per family: adaptive and fixed-step ODE
solvers (``ode``), gradient descent (``euler``), optax optimizers
(``optax``), stochastic Runge-Kutta solvers of Langevin dynamics
(``langevin``); the keys every solver shares (``base``) and the ``[noise]``
table (``noise``)."""
