"""nbval settings for the notebooks: outputs that are not stable across runs are not compared."""


def pytest_collectstart(collector):
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "text/html",  # pandas' HTML tables repeat the text/plain content
            "application/vnd.jupyter.widget-view+json",  # ipywidgets: random model ids
            "application/vnd.jupyter.widget-state+json",
        )
