"""The explorer without a browser: its pure parts and its widgets driven from Python."""

import asyncio
import html

import numpy as np
import pandas as pd
import pytest

from tgsr_lib.data import layout
from tgsr_lib.report import explorer

from .conftest import REPO, requires_data

CACHE = str(REPO / "notebooks" / "cache" / "grids")


def test_grid_xis_are_the_distinct_paper_values():
    assert explorer.GRID_XIS.size == 271 and np.all(np.diff(explorer.GRID_XIS) > 0)
    assert explorer.GRID_XIS[0] == 0.001 and explorer.GRID_XIS[-1] == 1000


@pytest.mark.parametrize("typed, expected", [(44.0, 44.0), (45.3, 46.0), (45.0, 44.0),
                                             (1e-6, 0.001), (5000.0, 1000.0), (0.0011, 0.001)])
def test_snap_xi(typed, expected):
    j, value = explorer.snap_xi(typed)
    assert value == pytest.approx(expected) and explorer.GRID_XIS[j] == value


def test_grid_matrix_collapses_repeated_xi_positions():
    xis = explorer.GRID_XIS
    df = pd.DataFrame({"kappa": [1, 1, 1, 85], "xi": [xis[0], xis[0], xis[5], xis[-1]],
                       "macro_f1": [0.5, 0.5, 0.25, 0.75], "accuracy": [0.6] * 4})
    m = explorer.grid_matrix(df, "macro_f1")
    assert m.shape == (85, 271)
    assert (m[0, 0], m[0, 5], m[84, 270]) == (0.5, 0.25, 0.75)
    assert np.isnan(m).sum() == 85 * 271 - 3


def test_face_blocks():
    # a "blocks" group is one facial block with its three planes
    blocks = [entry for b in explorer.face_blocks("blocks", [0]).values() for entry in b]
    assert len(blocks) == 1 and blocks[0][4] == (0, 1, 2)
    # every group kept: every block of every scale, all three planes
    every = explorer.face_blocks("authors", range(layout.N_GROUPS))
    assert {s: len(b) for s, b in every.items()} == {s: s * s for s in layout.SCALES}
    assert all(entry[4] == (0, 1, 2) for b in every.values() for entry in b)


@requires_data
def test_render_marks_the_point_and_matches_the_grid():
    fig, summary = explorer.render(5, 12, 44.0, "authors", CACHE)
    assert summary["grid"] == "computed"
    assert summary["accuracy"] == summary["grid_accuracy"]
    assert summary["macro_f1"] == summary["grid_macro_f1"]
    assert (round(summary["paper_macro_f1"], 4), round(100 * summary["paper_accuracy"], 2)) \
        == (0.6984, 70.42)
    assert "record_macro_f1" in summary  # Exp.5 has the authors' record
    assert explorer.describe(summary).startswith("Exp.5 (V->N), authors grouping, kappa 12, "
                                                 "xi 44: accuracy 70.42%")
    assert len(fig.axes) >= 8  # 4 faces, confusion matrix, heatmap (+ colour bar), 2 curves
    assert explorer.figure_png(fig).startswith(b"\x89PNG")


@requires_data
def test_render_off_the_grid_has_no_grid_values():
    _, summary = explorer.render(5, 12, 45.0, "authors", CACHE)
    assert "grid_macro_f1" not in summary and summary["xi"] == 45.0


def _alt(app) -> str:
    value = app.figure.value
    return html.unescape(value.split('alt="', 1)[1].split('"', 1)[0])


@requires_data
def test_explorer_controls_without_a_kernel():
    pytest.importorskip("ipywidgets")
    app = explorer.Explorer(number=5, kappa=12, xi=44.0, cache_dir=CACHE)
    assert "kappa 12, xi 44:" in _alt(app) and app.n_updates == 1
    assert "tgsr-busy" not in app.figure._dom_classes

    app.kappa_box.value = 20  # typed kappa
    assert app.kappa.value == 20 and "kappa 20, xi 44:" in _alt(app)

    app.xi_box.value = "45.3"  # typed xi: snaps to the nearest grid value and says so
    assert app.xi == 46.0 and app.xi_box.value == "46" and "kappa 20, xi 46:" in _alt(app)
    assert "snapped to the nearest" in app.status.value

    app.xi_box.value = "abc"
    assert app.xi == 46.0 and app.xi_box.value == "46"
    assert "not a positive number" in app.status.value

    app.xi_index.value = explorer.xi_index(0.5)  # slider
    assert app.xi_box.value == "0.5" and "xi 0.5:" in _alt(app)
    assert "snapped" not in app.status.value

    app.grouping.value = "blocks"
    assert "blocks grouping" in _alt(app)

    n = app.n_updates
    app.go_to_best()  # one update, straight to the grid's first max-F1 point
    best = explorer.task_data(5, "blocks", CACHE).best
    assert app.n_updates == n + 1
    assert (app.kappa.value, app.xi) == best
    assert f"kappa {best[0]}, xi {best[1]:g}:" in _alt(app)
    assert "best macro-F1" in app.status.value

    app.experiment.value = 6
    assert _alt(app).startswith("Exp.6 (N->V), blocks grouping")

    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<img" in bundle["text/html"] and "VBox" not in bundle["text/plain"]


@requires_data
def test_explorer_debounces_quick_changes():
    pytest.importorskip("ipywidgets")

    async def scenario():
        app = explorer.Explorer(number=5, kappa=12, xi=44.0, cache_dir=CACHE, debounce_s=0.05)
        n = app.n_updates
        for kappa in (13, 14, 15, 16, 17):
            app.kappa.value = kappa
        # nothing computed yet, but the figure shows that it is being computed
        assert app.n_updates == n and "tgsr-busy" in app.figure._dom_classes
        assert "computing" in app.status.value and "kappa 17" in app.status.value
        for _ in range(400):
            await asyncio.sleep(0.025)
            if app.n_updates > n:
                break
        await asyncio.sleep(0.1)
        return app, n

    app, n = asyncio.run(scenario())
    assert app.n_updates == n + 1 and "kappa 17, xi 44:" in _alt(app)
    assert "tgsr-busy" not in app.figure._dom_classes
