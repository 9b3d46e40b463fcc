"""Sphinx configuration of the book: the executed notebooks as a static website.

``book/build.py`` (``make book``) copies this file, ``index.md`` and the notebooks into
``_build/book_src`` and runs Sphinx with myst-nb; nothing is executed (``nb_execution_mode =
"off"``): every figure and table is the notebook's stored output. Nothing is fetched from the
network at build time, and the pages need none at view time: the theme's fonts and scripts are
in the pip packages, and the ipywidgets JavaScript (which myst-nb would load from a CDN) is
not used: the explorer's output carries a static HTML snapshot, shown instead.
"""

from importlib.util import find_spec

project = "TGSR reproduction"
author = "the tgsr contributors"
copyright = "the tgsr contributors"  # noqa: A001 (Sphinx's name)

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_readme_reproduced.md", "_source.md"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
master_doc = root_doc = "index"

# the notebooks' stored outputs, as executed by `make reproduce` (or committed)
nb_execution_mode = "off"
nb_merge_streams = True
# ipywidgets: show the explorer's static HTML snapshot instead of a widget view that would need
# @jupyter-widgets/html-manager from a CDN (and could only show frozen controls anyway)
nb_mime_priority_overrides = [
    ("*", "application/vnd.jupyter.widget-view+json", None),
    ("*", "application/vnd.jupyter.widget-state+json", None),
]
nb_ipywidgets_js = {}
myst_enable_extensions = ["colon_fence"]  # no dollarmath: no MathJax (a CDN script)
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]

html_title = "Seeking Salient Facial Regions: a reproduction"
html_last_updated_fmt = None  # no build dates in the pages
html_show_sourcelink = False
html_copy_source = False
html_static_path: list[str] = []
if find_spec("sphinx_book_theme") is not None:
    html_theme = "sphinx_book_theme"
    html_theme_options = {
        "show_toc_level": 2,
        "home_page_in_toc": True,
        "use_download_button": False,
        "use_fullscreen_button": False,
    }
else:  # Sphinx's own theme: no extra package
    html_theme = "alabaster"
