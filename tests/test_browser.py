"""The explorer (notebook 09) and the HTML book in a real browser (Playwright + chromium).

JupyterLab is started on 127.0.0.1 (random token, free port) over a temporary copy of
notebook 09 (so that nothing writes to the committed notebook); Debian's chromium
(``apt-get install chromium``, ``/usr/bin/chromium``; or ``TGSR_CHROMIUM``) opens it, checks what
it shows before it runs, runs all cells, changes task, kappa (dragged and typed), xi (dragged
and typed), grouping and "go to best", and after each change checks the figure and the text
against the controls and that no widget or cell error appears. The book's pages (``_build/html``
from ``make book``, else built here) must load with all their images and local links.

Screenshots go to the test's temporary folder (and to ``TGSR_SCREENSHOT_DIR`` when set). The
tests skip, saying why, without playwright, a chromium, or the authors' files.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from .conftest import REPO, requires_data

NOTEBOOKS = REPO / "notebooks"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1024, "height": 768}
#: Upper bounds of single waits in ms (a 2-core CI machine; not a speed check).
SLOW = 180_000
STEP = 60_000


def chromium_path() -> str | None:
    """``TGSR_CHROMIUM``, ``/usr/bin/chromium``, or a chromium on the PATH."""
    for candidate in (os.environ.get("TGSR_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install playwright (its own browser "
                    "download is not needed)")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no chromium: apt-get install -y chromium (or set TGSR_CHROMIUM to a "
                    "chromium executable)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _screenshot(page_or_locator, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page_or_locator.screenshot(path=str(path))
    extra = os.environ.get("TGSR_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)


# ----------------------------------------------------------------------------------------
# JupyterLab
# ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server over a temporary copy of notebook 09; yields its base URL, token
    and folder."""
    pytest.importorskip("jupyterlab")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "09_explorer.ipynb", root / "09_explorer.ipynb")
    (root / "cache").symlink_to(NOTEBOOKS / "cache", target_is_directory=True)
    settings = tmp / "settings" / "@jupyterlab"
    _write_json(settings / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False})
    _write_json(settings / "docmanager-extension" / "plugin.jupyterlab-settings",
                {"autosave": False})
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                          if p))
    env.pop("MPLBACKEND", None)
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n"
                                + (tmp / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:  # the kernel the server started (same session), if it outlived the server
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        log.close()


_KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session
            && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

_FIGURE_STATE = """() => {
  const fig = document.querySelector('.tgsr-explorer .tgsr-figure');
  const img = fig && fig.querySelector('img');
  if (!img || fig.classList.contains('tgsr-busy')) return null;
  const text = s => { const e = document.querySelector(s); return e ? e.value : null; };
  const task = document.querySelector('.tgsr-explorer .tgsr-task select');
  const group = document.querySelector('.tgsr-explorer .tgsr-grouping .mod-active');
  return {alt: img.getAttribute('alt'), src_len: img.getAttribute('src').length,
          src_tail: img.getAttribute('src').slice(-120),
          status: document.querySelector('.tgsr-explorer .tgsr-status').innerText,
          kappa: text('.tgsr-explorer .tgsr-kappa-box input'),
          xi: text('.tgsr-explorer .tgsr-xi-box input'),
          task: task ? task.options[task.selectedIndex].text.replace(/\u00a0/g, ' ') : null,
          grouping: group ? group.innerText.trim() : null};
}"""

_WATCH_BUSY = """() => {
  window.__tgsrBusySeen = false;
  const root = document.querySelector('.tgsr-explorer');
  new MutationObserver(() => {
    if (root.querySelector('.tgsr-figure.tgsr-busy')) window.__tgsrBusySeen = true;
  }).observe(root, {attributes: true, subtree: true, attributeFilter: ['class']});
}"""

_ALT = re.compile(r"^(?P<task>Exp\.\d+ \([A-Z]->[A-Z]\)), (?P<grouping>\w+) grouping, "
                  r"kappa (?P<kappa>\d+), xi (?P<xi>[0-9.e+-]+): accuracy")


def _no_errors(page) -> None:
    body = page.inner_text("body")
    assert "Error displaying widget" not in body
    assert "could not compute" not in body
    bad = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert bad.count() == 0, bad.first.inner_text()
    assert page.locator('[data-mime-type="application/vnd.jupyter.error"]').count() == 0


def _wait_state(page, previous: dict | None, **expected) -> dict:
    """Wait until the explorer shows a new, computed figure whose alt text names
    ``expected`` (task, grouping, kappa, xi) and matches the controls; return its state."""
    prev_tail = previous["src_tail"] if previous else ""
    changed = bool(expected.pop("changed", True))
    page.wait_for_function(
        f"""([tail, changed, parts]) => {{
             const s = ({_FIGURE_STATE})();
             if (!s || !s.alt) return false;
             if (changed && s.src_tail === tail) return false;
             return parts.every(v => s.alt.includes(v));
           }}""",
        arg=[prev_tail, changed, [_alt_part(k, v) for k, v in expected.items()]],
        timeout=STEP)
    state = page.evaluate(_FIGURE_STATE)
    m = _ALT.match(state["alt"])
    assert m, state["alt"]
    # the figure shows what the controls show
    assert m["task"] == state["task"] and m["grouping"] == state["grouping"]
    assert m["kappa"] == state["kappa"] and float(m["xi"]) == float(state["xi"])
    # and the text says the same
    assert f"kappa {m['kappa']}, xi {m['xi']}" in state["status"]
    assert state["task"] in state["status"]
    _no_errors(page)
    return state


def _alt_part(key: str, value) -> str:
    return {"task": f"{value}, ", "grouping": f", {value} grouping",
            "kappa": f"kappa {value}, ", "xi": f", xi {value}:"}[key]


def _drag(page, selector: str, fraction: float) -> None:
    """Drag a slider's handle to ``fraction`` of its track."""
    track = page.locator(f"{selector} .noUi-target").bounding_box()
    handle = page.locator(f"{selector} .noUi-handle").bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], y, steps=12)
    page.mouse.up()


def _type(page, selector: str, text: str) -> None:
    box = page.locator(f"{selector} input")
    box.click()
    box.fill(text)
    box.press("Enter")


@requires_data
def test_explorer_in_jupyterlab(browser, jupyterlab, tmp_path):
    from tgsr_lib.report import explorer

    base, token, _ = jupyterlab
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda err: js_errors.append(str(err)))
    try:
        page.goto(f"{base}/lab/tree/09_explorer.ipynb?reset&token={token}",
                  wait_until="domcontentloaded", timeout=SLOW)

        # before it runs: the stored static snapshot, not a raw "VBox(children=...)" line
        snapshot = page.wait_for_selector(".jp-OutputArea-output img[alt*='kappa 12, xi 44']",
                                          timeout=SLOW)
        assert "VBox(children" not in page.inner_text(".jp-Notebook")
        snapshot.scroll_into_view_if_needed()
        _screenshot(page, tmp_path, "00_before_run")

        page.wait_for_function(_KERNEL_IDLE, timeout=SLOW)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(".tgsr-explorer .tgsr-figure img", timeout=SLOW)
        page.wait_for_function(_KERNEL_IDLE, timeout=SLOW)
        state = _wait_state(page, None, changed=False, task="Exp.5 (V->N)",
                            grouping="authors", kappa=12, xi="44")
        page.locator(".tgsr-explorer").scroll_into_view_if_needed()
        _screenshot(page, tmp_path, "01_after_run_all")

        # the layout at 1024 px: one row of controls, the label beside its buttons,
        # sliders with a pixel or more per value
        selectors = {"task": ".tgsr-task", "grouping": ".tgsr-grouping", "best": ".tgsr-best",
                     "label": ".tgsr-grouping .widget-label",
                     "buttons": ".tgsr-grouping .widget-toggle-button",
                     "kappa": ".tgsr-kappa .noUi-target", "xi": ".tgsr-xi .noUi-target"}
        boxes = {name: page.locator(f".tgsr-explorer {sel}").first.bounding_box()
                 for name, sel in selectors.items()}
        mid = boxes["task"]["y"] + boxes["task"]["height"] / 2
        for name in ("grouping", "best", "label"):
            assert boxes[name]["y"] <= mid <= boxes[name]["y"] + boxes[name]["height"], name
        assert boxes["label"]["x"] < boxes["buttons"]["x"]
        assert boxes["kappa"]["width"] >= 85 and boxes["xi"]["width"] >= 271, boxes

        # task
        options = page.eval_on_selector_all(
            ".tgsr-explorer .tgsr-task select option",
            "os => os.map(o => o.textContent.replace(/\u00a0/g, ' '))")
        page.select_option(".tgsr-explorer .tgsr-task select",
                           index=options.index("Exp.6 (N->V)"))
        state = _wait_state(page, state, task="Exp.6 (N->V)", kappa=12, xi="44")
        _screenshot(page.locator(".tgsr-explorer"), tmp_path, "02_task")

        # kappa: dragged, then typed; the figure is marked busy while the kernel computes
        page.evaluate(_WATCH_BUSY)
        _drag(page, ".tgsr-explorer .tgsr-kappa", 0.45)
        page.wait_for_function("() => document.querySelector("
                               "'.tgsr-explorer .tgsr-kappa-box input').value !== '12'",
                               timeout=STEP)
        state = _wait_state(page, state, task="Exp.6 (N->V)", xi="44")
        assert 25 <= int(state["kappa"]) <= 50, state
        assert page.evaluate("() => window.__tgsrBusySeen"), "no busy state was shown"
        _type(page, ".tgsr-explorer .tgsr-kappa-box", "20")
        state = _wait_state(page, state, kappa=20, xi="44")
        _screenshot(page.locator(".tgsr-explorer"), tmp_path, "03_kappa")

        # xi: dragged, then typed (45.3 is not a grid value: it snaps to 46 and says so)
        _drag(page, ".tgsr-explorer .tgsr-xi", 0.3)
        page.wait_for_function("() => document.querySelector("
                               "'.tgsr-explorer .tgsr-xi-box input').value !== '44'",
                               timeout=STEP)
        state = _wait_state(page, state, kappa=20)
        assert float(state["xi"]) < 1, state
        _type(page, ".tgsr-explorer .tgsr-xi-box", "45.3")
        state = _wait_state(page, state, kappa=20, xi="46")
        assert "snapped to the nearest" in state["status"] and state["xi"] == "46"
        _screenshot(page.locator(".tgsr-explorer"), tmp_path, "04_xi")

        # grouping
        page.locator(".tgsr-explorer .tgsr-grouping button", has_text="blocks").click()
        state = _wait_state(page, state, grouping="blocks", kappa=20, xi="46")
        _screenshot(page.locator(".tgsr-explorer"), tmp_path, "05_grouping")

        # go to best F1: kappa and xi move together, to the grid's first max-F1 point
        kappa, xi = explorer.task_data(6, "blocks", str(NOTEBOOKS / "cache" / "grids")).best
        page.locator(".tgsr-explorer .tgsr-best").click()
        state = _wait_state(page, state, grouping="blocks", kappa=kappa, xi=f"{xi:g}")
        assert "best macro-F1" in state["status"]

        # quick key presses on the kappa slider: the last value is shown
        page.locator(".tgsr-explorer .tgsr-kappa .noUi-handle").focus()
        key = "ArrowLeft" if kappa > 10 else "ArrowRight"
        for _ in range(4):
            page.keyboard.press(key)
        final = kappa - 4 if key == "ArrowLeft" else kappa + 4
        state = _wait_state(page, state, kappa=final, xi=f"{xi:g}")
        _screenshot(page, tmp_path, "06_best_then_keys")
        assert not [e for e in js_errors if "widget" in e.lower()], js_errors
    finally:
        context.close()


# ----------------------------------------------------------------------------------------
# The book
# ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book_html(tmp_path_factory) -> Path:
    built = REPO / "_build" / "html"
    if (built / "index.html").is_file():
        return built
    for module in ("sphinx", "myst_nb"):
        pytest.importorskip(module, reason=f"no {module} to build the book: pip install the "
                                           "book extra, or run make book first")
    out = tmp_path_factory.mktemp("book")
    subprocess.run([sys.executable, str(REPO / "book" / "build.py"), "--build-dir", str(out)],
                   check=True, cwd=REPO)
    return out / "html"


def test_book_pages_load_with_their_images(browser, book_html, tmp_path):
    pages = sorted(p for p in book_html.rglob("*.html")
                   if not {"_static", "_sources", "_images"} & set(p.relative_to(book_html).parts)
                   and p.name not in ("genindex.html", "search.html"))
    chapters = {p.stem for p in book_html.glob("notebooks/*.html")}
    assert {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")} <= chapters
    context = browser.new_context(viewport=VIEWPORT)
    external: list[str] = []
    context.route(re.compile(r"^(https?|wss?)://"),
                  lambda route: (external.append(route.request.url), route.abort()))
    page = context.new_page()
    try:
        for path in pages:
            page.goto(path.as_uri(), wait_until="load")
            broken = page.evaluate("""() => [...document.images]
                .filter(i => !(i.complete && i.naturalWidth > 0))
                .map(i => i.getAttribute('src').slice(0, 80))""")
            assert not broken, f"{path.name}: broken images {broken}"
            hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')]"
                                  ".map(a => a.href)")
            for href in hrefs:
                url = urlparse(href)
                if url.scheme == "file":
                    assert Path(unquote(url.path)).exists(), f"{path.name}: dead link {href}"
            if path.name == "index.html":
                text = page.inner_text("body")
                assert "Seeking Salient Facial Regions for Cross-Database" in text
                assert "Jiang" in text and "ICPR" in text
                _screenshot(page, tmp_path, "book_index")
            if path.stem.startswith("09_"):
                snapshot = page.locator("img[alt*='kappa']")
                assert snapshot.count() >= 1  # the explorer's static snapshot
                snapshot.first.scroll_into_view_if_needed()
                _screenshot(page, tmp_path, "book_09")
            if path.stem.startswith("04_"):
                assert page.locator("img").count() >= 3
    finally:
        context.close()
    assert not external, f"the book asked the network for {external[:5]}"
