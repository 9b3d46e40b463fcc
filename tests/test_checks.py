"""Bad input at the library's entrances: one clear error, the same message everywhere."""

import numpy as np
import pytest

from tgsr_lib import checks
from tgsr_lib.model import GridProblem, resolve_groups, solve_many
from tgsr_lib.model.ialm import group_threshold, shrink_factors

from . import naive


@pytest.fixture(scope="module")
def problem():
    Xs, ys, Xt, gid = naive.make_problem(seed=20, n_groups=6)
    return GridProblem(Xs, ys, Xt, gid)


@pytest.mark.parametrize("kappas, xis, message", [
    ([0], [1.0], "kappa=0 is out of range: it counts kept groups, an integer in 1..6"),
    ([7], [1.0], "kappa=7 is out of range"),
    ([12.7], [1.0], "kappa=12.7 is out of range"),
    ([2.5], [1.0], "kappa=2.5 is out of range"),
    ([True], [1.0], "kappa=True is not a number"),
    ([1], [-1.0], "xi=-1.0 is out of range"),
    ([1], [np.nan], "xi=nan is out of range"),
    ([1], [np.inf], "xi=inf is out of range"),
    ([1], ["0.5"], "xi='0.5' is not a number"),
    ([1, 2], [1.0], "2 kappa values but 1 xi values"),
    ([], [], "empty kappa list"),
])
def test_solve_many_refuses_bad_points(problem, kappas, xis, message):
    for backend in (dict(backend="numba"), dict(backend="array", xp=np)):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            solve_many(problem, kappas, xis, **backend)


@pytest.mark.parametrize("options, message", [
    (dict(tol=-1.0), "tol=-1.0 is out of range"),
    (dict(max_iter=2.5), "max_iter=2.5 is out of range"),
    (dict(mu_max=1e-5), "mu_max=1e-05 is below mu0"),
    (dict(n_slots=0), "n_slots=0 is out of range"),
    (dict(backend="tpu"), "unknown backend 'tpu'"),
])
def test_solve_many_refuses_bad_options(problem, options, message):
    with pytest.raises(ValueError, match=message):
        solve_many(problem, [1], [1.0], **options)


def test_whole_numbers_are_accepted(problem):
    pred, n_iter, conv = solve_many(problem, [np.int32(2), 3.0], [1, np.float32(0.5)])
    assert conv.all() and pred.shape == (2, problem.n_eval)


def test_grid_problem_refuses_bad_features():
    Xs, ys, Xt, gid = naive.make_problem(seed=21)
    bad = Xs.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"source features contain NaN or inf \(rows \[1\]\)"):
        GridProblem(bad, ys, Xt, gid)
    with pytest.raises(ValueError, match="grouping is for the authors' 15045-dimensional"):
        GridProblem(Xs, ys, Xt)  # the authors' layout needs 15045 columns
    rng = np.random.default_rng(0)
    X300 = rng.random((12, 300))
    with pytest.raises(ValueError, match="features have 300 columns: give groups="):
        GridProblem(X300, ys, X300)
    ok = GridProblem(X300, ys, X300, np.arange(300) // 10)  # 300 columns in 30 groups
    assert ok.n_groups == 30 and ok.gmax == 10
    with pytest.raises(ValueError, match="X_eval have 5 columns, expected"):
        GridProblem(Xs, ys, Xt, gid, X_eval=Xt[:, :5])
    with pytest.raises(ValueError, match="holds one class"):
        GridProblem(Xs, np.ones_like(ys), Xt, gid)
    with pytest.raises(ValueError, match="must be a GridProblem"):
        solve_many("problem", [1], [1.0])


def test_group_layouts():
    lay = resolve_groups(np.array([7, 3, 7, 9, 3, 3]), 6)
    assert lay.ids.tolist() == [3, 7, 9] and lay.sizes.tolist() == [3, 2, 1]
    assert lay.order.tolist() == [1, 4, 5, 0, 2, 3]
    assert lay.group_of_feature().tolist() == [1, 0, 1, 2, 0, 0]
    lay2 = resolve_groups(np.array([[0, 2], [1, 3]]), 4)
    assert lay2.order.tolist() == [0, 2, 1, 3] and lay2.n_groups == 2
    with pytest.raises(ValueError, match="cover the 4 columns exactly once"):
        resolve_groups(np.array([[0, 2], [1, 1]]), 4)
    with pytest.raises(ValueError, match="unknown grouping 'rows'"):
        resolve_groups("rows", 15045)
    blocks = resolve_groups("blocks", 15045)
    assert blocks.n_groups == 85 and set(blocks.sizes) == {177}


def test_threshold_rule():
    """lambda = the (kappa+1)-th largest norm; ties keep fewer than kappa; kappa = K: 0."""
    g = np.array([3.0, 1.0, 2.0, 2.0, 0.5])
    assert group_threshold(g, 1) == 2.0
    assert (shrink_factors(g, group_threshold(g, 2)) > 0).sum() == 1  # the tie at 2 drops both
    assert (shrink_factors(g, group_threshold(g, 3)) > 0).sum() == 3
    assert group_threshold(g, 5) == 0.0 and np.all(shrink_factors(g, 0.0) == 1.0)
    s = shrink_factors(g, group_threshold(g, 4))
    np.testing.assert_allclose(s, [(3 - 0.5) / 3, 0.5, 0.75, 0.75, 0.0])
    batch = np.stack([g, g[::-1]])
    np.testing.assert_array_equal(group_threshold(batch, np.array([1, 5])), [2.0, 0.0])
    assert shrink_factors(np.zeros(3), group_threshold(np.zeros(3), 1)).tolist() == [0, 0, 0]


def test_labels_and_sizes():
    with pytest.raises(ValueError, match="source labels contain NaN"):
        checks.check_labels(np.array([1.0, np.nan]), 2)
    with pytest.raises(ValueError, match="must be 1-D"):
        checks.check_labels(np.ones((2, 2)), 4)
    assert checks.check_labels(np.array([["a"], ["b"]]), 2).tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="more than 500,000"):
        checks.check_grid_size(850_000, confirm_large=False)
    checks.check_grid_size(850_000, confirm_large=True)
