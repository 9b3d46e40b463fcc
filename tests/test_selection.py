"""Label-free hyperparameter selection (tgsr_lib.compare.selection)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from tgsr_lib import TGSR
from tgsr_lib.compare import selection
from tgsr_lib.data.layout import FEATURE_DIM, GROUP_DIM

from .conftest import requires_data
from .naive import grouped_domains


def _domain(rng, n_per_class, shift, noise=0.1):
    """Class c lights up group c - 1 (authors grouping); everything else is noise."""
    y = np.repeat([1, 2, 3], n_per_class)
    X = noise * rng.random((y.size, FEATURE_DIM))
    for c in (1, 2, 3):
        X[y == c, (c - 1) * GROUP_DIM:c * GROUP_DIM] += 0.5
    return X + shift, y


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    Xs, ys = _domain(rng, 6, 0.0)
    Xt, yt = _domain(rng, 5, 0.05 * rng.random(FEATURE_DIM))
    return Xs, ys, Xt, yt


KAPPAS, XIS = [1, 3, 60], [0.01, 10.0]


@pytest.fixture(scope="module")
def toy_scores(toy):
    Xs, ys, Xt, _ = toy
    return selection.rule_scores((Xs, ys), Xt, KAPPAS, XIS, n_folds=3)


def test_fast_path_matches_one_fit_at_a_time_reference(toy, toy_scores):
    """The batched engine path (custom evaluation sets, per-fit pseudo-labels) gives the same
    scores as plain TGSR fits, one at a time."""
    Xs, ys, Xt, _ = toy
    params = [{"kappa": k, "xi": x} for k in KAPPAS for x in XIS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = selection.estimator_rule_scores(lambda **p: TGSR(**p), params, (Xs, ys), Xt,
                                              n_folds=3)
    for col in ("cv_f1", "cv_f1_se", "cv_acc", "iwcv_risk", "dev_risk", "reverse_f1"):
        np.testing.assert_allclose(toy_scores[col], ref[col], rtol=0, atol=1e-12, err_msg=col)
    np.testing.assert_allclose(toy_scores["mmd"], ref["mmd"], rtol=1e-6, atol=1e-9)
    assert toy_scores["converged"].all()


@pytest.mark.parametrize("rule", selection.RULES)
def test_every_rule_avoids_the_clearly_worse_kappa(toy_scores, rule):
    """kappa = 1 keeps one group, so it can tell one class from the rest at best; the three
    informative groups need kappa >= 3."""
    assert toy_scores.loc[toy_scores.kappa == 1, "cv_f1"].max() < 0.6
    pick = selection.choose(toy_scores, rule)
    assert pick["kappa"] != 1
    column, sense = selection.RULE_SCORES[rule]
    assert pick["score"] == (toy_scores[column].max() if sense == "max"
                             else toy_scores[column].min()) or rule == "mmd"


def test_rules_never_read_target_labels(toy):
    Xs, ys, Xt, yt = toy
    rng = np.random.default_rng(1)
    a = selection.rule_scores((Xs, ys), (Xt, yt), [3, 60], [0.01], n_folds=3)
    b = selection.rule_scores((Xs, ys), (Xt, rng.permutation(yt)), [3, 60], [0.01], n_folds=3)
    c = selection.rule_scores((Xs, ys), Xt, [3, 60], [0.01], n_folds=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    for rule in ("source_cv", "mmd"):
        p1 = selection.select_point(rule, (Xs, ys), (Xt, yt), [3, 60], [0.01], n_folds=3)
        p2 = selection.select_point(rule, (Xs, ys), (Xt, yt[::-1]), [3, 60], [0.01],
                                    n_folds=3)
        assert p1 == p2
        assert set(p1) == {"rule", "kappa", "xi", "score", "score_name"}


def test_choose_breaks_ties_by_grid_order_and_applies_the_one_se_band():
    scores = pd.DataFrame({
        "kappa": [1, 2, 3, 4], "xi": [1.0] * 4,
        "cv_f1": [0.5, 0.8, 0.8, 0.75], "cv_f1_se": [0.1, 0.04, 0.04, 0.1],
        "iwcv_risk": [0.3, 0.2, 0.2, 0.4], "dev_risk": [0.3, 0.1, 0.2, 0.1],
        "reverse_f1": [0.9, 0.1, 0.1, 0.9], "mmd": [0.0, 0.3, 0.2, 0.25]})
    assert selection.choose(scores, "source_cv")["kappa"] == 2  # first of the tie
    assert selection.choose(scores, "iwcv")["kappa"] == 2
    assert selection.choose(scores, "dev")["kappa"] == 2
    assert selection.choose(scores, "reverse")["kappa"] == 1
    # kappa 1 has the lowest MMD but is outside [0.8 - 0.04, 0.8]; kappa 4 is outside too
    assert selection.choose(scores, "mmd")["kappa"] == 3
    assert selection.choose(scores.assign(mmd=np.nan), "mmd") is None


def test_mmd2_properties():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 3))
    W = rng.normal(size=(40, 3))
    assert selection.mmd2(Z, Z) == pytest.approx(0.0, abs=1e-12)
    far = selection.mmd2(Z, W + 3.0)
    assert far > 10 * selection.mmd2(Z, W)
    assert selection.mmd2(5 * Z, 5 * W) == pytest.approx(selection.mmd2(Z, W))  # scale-free
    batch = selection.mmd2(np.stack([Z, Z]), np.stack([W, W + 3.0]))
    np.testing.assert_allclose(batch, [selection.mmd2(Z, W), far])
    assert selection.mmd2(np.ones((4, 3)), np.ones((5, 3))) == 0.0


def test_dev_risk_matches_its_formula():
    rng = np.random.default_rng(0)
    loss = (rng.random((3, 30)) < 0.3).astype(float)
    w = rng.gamma(2.0, size=30)
    wl = loss * w
    eta = -np.array([np.cov(r, w)[0, 1] for r in wl]) / np.var(w, ddof=1)
    np.testing.assert_allclose(selection.dev_risk(loss, w),
                               wl.mean(axis=1) + eta * w.mean() - eta)
    np.testing.assert_allclose(selection.dev_risk(loss, np.ones(30)), loss.mean(axis=1))


def test_importance_weights_follow_the_shift():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(80, 6))
    same = selection.importance_weights(Xs, rng.normal(size=(80, 6)))
    assert 0.6 < same.mean() < 1.5
    Xt = rng.normal(size=(80, 6)) + np.array([1.5, 0, 0, 0, 0, 0])
    w = selection.importance_weights(Xs, Xt)
    near = Xs[:, 0] > 1.0
    assert w[near].mean() > 3 * w[~near].mean()
    assert 1 <= selection.effective_sample_size(w) <= 80


def test_source_folds():
    ys = np.repeat([1, 2, 3], [7, 5, 6])
    folds = selection.source_folds(ys, 5, seed=0)
    test = np.concatenate([te for _, te in folds])
    assert len(folds) == 5 and np.array_equal(np.sort(test), np.arange(ys.size))
    subjects = np.tile(np.arange(6), 3)
    loso = selection.source_folds(ys, groups=subjects)
    assert len(loso) == 6
    for tr, te in loso:
        assert np.unique(subjects[te]).size == 1 and subjects[te][0] not in subjects[tr]


def test_bad_inputs(toy):
    Xs, ys, Xt, _ = toy
    with pytest.raises(ValueError, match="unknown selection rule"):
        selection.select_point("oracle", (Xs, ys), Xt, [3], [1.0])
    with pytest.raises(ValueError, match="fewer than n_folds"):
        selection.source_folds(ys, 7)
    with pytest.raises(ValueError, match="n_folds"):
        selection.source_folds(ys, 1)
    with pytest.raises(ValueError, match="one per sample"):
        selection.source_folds(ys, groups=[1, 2])
    with pytest.raises(ValueError, match="lacks class"):
        selection.source_folds(ys, groups=ys)  # each subject holds one whole class
    with pytest.raises(ValueError, match="kappa"):
        selection.rule_scores((Xs, ys), Xt, [0], [1.0], n_folds=3)
    with pytest.raises(ValueError, match="xi"):
        selection.rule_scores((Xs, ys), Xt, [3], [-1.0], n_folds=3)
    with pytest.raises(ValueError, match="importance weights"):
        selection.rule_scores((Xs, ys), Xt, [3], [1.0], n_folds=3, weights=np.ones(3))
    with pytest.raises(ValueError, match="xi_step"):
        selection.subgrid(4, 0)
    with pytest.raises(ValueError, match="target must be"):
        selection.rule_scores((Xs, ys), [[1.0]], [3], [1.0])
    with pytest.raises(ValueError, match="empty"):
        selection.choose(pd.DataFrame(columns=["cv_f1"]), "source_cv")


def test_subgrid_is_part_of_the_paper_grid():
    from tgsr_lib.experiments.axes import paper_kappas, paper_xis

    k, x = selection.subgrid()
    assert k.size * x.size == 616 and k[0] == 1 and k[-1] == 85
    assert np.isin(k, paper_kappas()).all() and np.isin(x, paper_xis()).all()


def test_picks_reports_oracles_and_rules():
    scores = pd.DataFrame({
        "kappa": [1, 2], "xi": [1.0, 1.0], "cv_f1": [0.4, 0.6], "cv_f1_se": [0.0, 0.0],
        "cv_acc": [0.4, 0.6], "iwcv_risk": [0.6, 0.4], "dev_risk": [0.6, 0.4],
        "reverse_f1": [0.5, 0.4], "mmd": [0.1, 0.2], "converged": [True, True]})
    grid = pd.DataFrame({"kappa": [1, 2, 3], "xi": [1.0] * 3, "accuracy": [0.5, 0.7, 0.9],
                         "macro_f1": [0.45, 0.65, 0.85]})
    scored = selection.attach_target_scores(scores, grid)
    out = selection.picks(scored, full_grid=grid).set_index("selection")
    assert out.loc["oracle", "kappa"] == 3 and out.loc["oracle_subgrid", "kappa"] == 2
    assert out.loc["reverse", "macro_f1"] == 0.45 and out.loc["source_cv", "macro_f1"] == 0.65
    with pytest.raises(ValueError, match="missing"):
        selection.attach_target_scores(scores.assign(kappa=[7, 8]), grid)


@requires_data
def test_cached_scores_are_reproduced(vis, nir):
    """Two points of the committed Exp.5 cache recomputed (the notebook checks more)."""
    from pathlib import Path

    path = selection.selection_cache_path(5, "authors", 4, 10, 5, 0,
                                          Path(__file__).parents[1] / "notebooks/cache/selection")
    if not path.is_file():
        pytest.skip("no committed selection cache")
    from tgsr_lib.experiments.io import read_grid

    _, xis = selection.subgrid()
    xis = xis[[6, 20]]  # 0.038 and 42
    cached = read_grid(path)
    cached = cached[(cached.kappa == 37) & cached.xi.isin(xis)]
    live = selection.rule_scores(vis, nir, [37], xis)
    for col in selection.SCORE_COLUMNS:
        np.testing.assert_allclose(live[col].astype(float), cached[col].astype(float),
                                   rtol=1e-6, atol=1e-9, err_msg=col)


# --------------------------------------------------------------------------- any features


def _own_features(seed=0):
    """45 features in 5 groups of unequal sizes with scattered columns and ids 3..21; class
    c raises one group."""
    return grouped_domains(seed, [8, 3, 21, 5, 13], [12, 6, 9, 10, 8], (3, 21, 13),
                           n_source=6, n_target=5, noise=0.5, signal=0.9, shift=0.2)


def test_rules_take_any_features_and_groups():
    """On 45 features in 5 custom groups the batched rules equal plain TGSR fits with the same
    groups, one at a time; kappa runs over the 5 groups."""
    Xs, ys, Xt, groups = _own_features()
    kappas, xis = [1, 3, 5], [0.1, 10.0]
    fast = selection.rule_scores((Xs, ys), Xt, kappas, xis, groups, n_folds=3)
    params = [{"kappa": k, "xi": x} for k in kappas for x in xis]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = selection.estimator_rule_scores(lambda **p: TGSR(groups=groups, **p), params,
                                              (Xs, ys), Xt, n_folds=3)
    for col in ("cv_f1", "cv_f1_se", "cv_acc", "iwcv_risk", "dev_risk", "reverse_f1"):
        np.testing.assert_allclose(fast[col], ref[col], rtol=0, atol=1e-12, err_msg=col)
    np.testing.assert_allclose(fast["mmd"], ref["mmd"], rtol=1e-6, atol=1e-9)
    every = selection.rule_scores((Xs, ys), Xt, xis=[1.0], grouping=groups, n_folds=3,
                                  reverse=False)
    assert every.kappa.tolist() == [1, 2, 3, 4, 5]
    pick = selection.select_point("iwcv", (Xs, ys), Xt, kappas, xis, groups, n_folds=3)
    row = fast.iloc[int(np.argmin(fast.iwcv_risk))]
    assert (pick["kappa"], pick["xi"]) == (row.kappa, row.xi)
    assert selection.subgrid(2, 100, n_groups=5)[0].tolist() == [1, 3, 5]
    with pytest.raises(ValueError, match=r"integer in 1\.\.5"):
        selection.rule_scores((Xs, ys), Xt, [6], [1.0], groups, n_folds=3)
    with pytest.raises(ValueError, match="'authors' grouping is for the authors' 15045"):
        selection.rule_scores((Xs, ys), Xt, [1], [1.0], n_folds=3)
    with pytest.raises(ValueError, match="caches by grouping name"):
        selection.experiment_rule_scores(5, groups)
