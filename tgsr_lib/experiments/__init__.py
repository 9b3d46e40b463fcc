"""Experiments: grid axes, the grid runner and the grid cache.

``axes`` (the paper's kappa and xi values, command-line specs), ``runner``
(:func:`~tgsr_lib.experiments.runner.compute_grid`: validate, solve, write), and the runner's
rooms: ``keys`` (engine options and the grid's key), ``checkpoint`` (finished points saved
and resumed), ``progress`` (size, resume notice and progress on stderr), ``distributed``
(Dask), ``io`` (atomic writes with ordinary file permissions); ``cache``
(:func:`~tgsr_lib.experiments.cache.cached_grid`, what the notebooks use).
"""
