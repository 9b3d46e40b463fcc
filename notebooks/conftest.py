"""nbval settings for the notebooks: outputs that are not stable across runs are not compared."""

import os

# The stored outputs hold the figures drawn by Jupyter's inline backend; a backend forced from
# the environment (MPLBACKEND=Agg in a CI shell, say) would drop them from the kernel's output.
os.environ.pop("MPLBACKEND", None)


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "text/html",  # pandas' HTML tables repeat the text/plain content
            "application/vnd.jupyter.widget-view+json",  # ipywidgets: random model ids
            "application/vnd.jupyter.widget-state+json",
        )
