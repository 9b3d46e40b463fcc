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

# A relative TGSR_DATA_DIR means the directory pytest was started in; the kernels run in
# notebooks/, so pass it on as an absolute path.
if os.environ.get("TGSR_DATA_DIR"):
    os.environ["TGSR_DATA_DIR"] = os.path.abspath(os.path.expanduser(os.environ["TGSR_DATA_DIR"]))
