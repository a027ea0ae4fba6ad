"""Open a rendered HTML report in real headless Chromium and check that it renders cleanly.

The browser is driven through the Chrome DevTools Protocol over ``--remote-debugging-pipe``
(JSON messages separated by NUL bytes on file descriptors 3 and 4), using only the standard
library. The test checks that the page loads, logs no console or browser errors, throws no
exception, requests nothing but ``file:``/``data:`` URLs, and that every ``<img>`` decoded
(``complete`` and ``naturalWidth > 0``). A second test feeds the harness a broken page to
prove it does detect failures.

Chromium is looked up on PATH (``chromium``, ``chromium-browser``, ``google-chrome``). If it
is missing and we run as root with ``apt-get``, one ``apt-get update && apt-get install -y
chromium`` is attempted per session (bounded by timeouts; set ``RISKSET_NO_APT=1`` to
forbid it); otherwise the tests are skipped with the reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import riskset
from riskset.report import (
    Report,
    Section,
    Table,
    figure_from_matplotlib,
    forest_figure,
    km_figure,
    render_html,
)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-pipe",
)
STEP_TIMEOUT = 20.0  # seconds for any single protocol reply / page load


def _find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = _find_chromium()
    if path:
        return path
    reason = "headless Chromium not found on PATH (chromium / chromium-browser / google-chrome)"
    if os.environ.get("RISKSET_NO_APT"):
        pytest.skip(reason + "; RISKSET_NO_APT is set, not installing it")
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip(reason + "; install it (e.g. apt-get install chromium) to run this test")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=180, check=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env,
                       capture_output=True, timeout=420, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"{reason}; 'apt-get install chromium' failed: {exc}")
    path = _find_chromium()
    if not path:
        pytest.skip(reason + "; apt-get installed no usable chromium binary")
    return path


class CDPError(RuntimeError):
    pass


class Browser:
    """A headless Chromium spoken to over ``--remote-debugging-pipe``."""

    def __init__(self, exe: str, profile: str) -> None:
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()
        # high-numbered copies, moved onto fds 3 and 4 in the child
        keep_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        keep_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def _child_fds() -> None:  # runs in the child between fork and exec
            os.dup2(keep_r, 3)  # dup2 clears close-on-exec on the target
            os.dup2(keep_w, 4)

        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                preexec_fn=_child_fds, close_fds=False, start_new_session=True,
            )
        finally:
            os.close(keep_r)
            os.close(keep_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child_r, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._replies[-1] = {"closed": True}
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self.events.put(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        self._next_id += 1
        mid = self._next_id
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                if -1 in self._replies:
                    raise CDPError(f"browser closed the pipe during {method}; stderr:\n{self.stderr()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no reply to {method} within {timeout}s; stderr:\n{self.stderr()}")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-4000:]

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except CDPError:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            # chromium ran in its own session (start_new_session): its process group holds
            # only the browser and its helpers, so end whatever of it is still alive
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        finally:
            for fd in (self._to_child_w, self._from_child_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._stderr.close()


def inspect_page(exe: str, url: str, profile: str) -> dict[str, Any]:
    """Load ``url`` in a fresh tab; return errors, requested URLs and image status."""
    browser = Browser(exe, profile)
    try:
        browser.send("Browser.getVersion", timeout=60)  # first reply: allow a slow cold start
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=sid)
        browser.send("Page.navigate", {"url": url}, session=sid)

        errors: list[str] = []
        requests: list[str] = []
        loaded = False
        deadline = time.monotonic() + STEP_TIMEOUT

        def handle(ev: dict[str, Any]) -> None:
            nonlocal loaded
            if ev.get("sessionId") != sid:
                return
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Page.loadEventFired":
                loaded = True
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                errors.append(f"console.{p.get('type')}: {args}")
            elif method == "Runtime.exceptionThrown":
                errors.append("exception: " + json.dumps(p.get("exceptionDetails", {}))[:500])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                e = p["entry"]
                errors.append(f"log.{e.get('level')} [{e.get('source')}]: {e.get('text')} {e.get('url', '')}")
            elif method == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                requests.append(url[:60] + "..." if url.startswith("data:") else url)
            elif method == "Network.loadingFailed":
                errors.append(f"network: {p.get('errorText')} (blocked: {p.get('blockedReason')})")

        while not loaded:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"page did not finish loading in {STEP_TIMEOUT}s; stderr:\n{browser.stderr()}")
            try:
                handle(browser.events.get(timeout=left))
            except queue.Empty:
                continue
        check = browser.send(
            "Runtime.evaluate",
            {
                "expression": (
                    "JSON.stringify({title: document.title,"
                    " images: Array.from(document.images).map(i => ({complete: i.complete,"
                    " w: i.naturalWidth, h: i.naturalHeight})),"
                    " svgs: document.querySelectorAll('svg').length,"
                    " resources: performance.getEntriesByType('resource').map(r => r.name),"
                    " tocOk: Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                    "   .every(a => document.getElementById(a.getAttribute('href').slice(1)) !== null),"
                    " scripts: document.scripts.length})"
                ),
                "returnByValue": True,
                "awaitPromise": False,
            },
            session=sid,
        )
        time.sleep(0.3)  # let late console/log events arrive
        while True:
            try:
                handle(browser.events.get_nowait())
            except queue.Empty:
                break
        info = json.loads(check["result"]["value"])
        info["errors"] = errors
        info["requests"] = requests
        return info
    finally:
        browser.close()


@pytest.fixture(scope="module", params=[False, True], ids=["png", "inline-svg"])
def report_file(request, tmp_path_factory) -> Path:
    d = riskset.datasets.load("gbsg")
    fit = riskset.kaplan_meier(d, time="rfstime", event="status", by="hormon")
    lr = riskset.logrank(d, time="rfstime", event="status", group="hormon")
    rows = pl.DataFrame(
        {
            "label": ["Hormone therapy", "Menopausal"],
            "estimate": [0.69, None],
            "lower": [0.55, None],
            "upper": [0.86, None],
            "note": [None, "monotone likelihood"],
        }
    )
    report = Report(
        "gbsg report <test>",
        [
            Section("Kaplan–Meier", "Curves by hormone therapy.", [Table("Medians", fit.summary)],
                    [figure_from_matplotlib("KM", km_figure(fit, pvalue=lr, ci=True))]),
            Section("Cox", None, [Table("HR", rows, note="one row not estimable")],
                    [figure_from_matplotlib("Forest", forest_figure(rows))]),
        ],
        meta={"spec": "km:\n  by: hormon\n", "seed": 1, "riskset_version": riskset.__version__},
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report, inline_svg=request.param), encoding="utf-8")
    return path


def test_report_renders_in_chromium(request, chromium, report_file, tmp_path):
    info = inspect_page(chromium, report_file.as_uri(), str(tmp_path / "profile"))
    assert info["title"] == "gbsg report <test>"
    assert info["errors"] == []
    if "inline-svg" in request.node.callspec.id:
        assert info["images"] == [] and info["svgs"] == 2
    else:
        assert len(info["images"]) == 2
    assert_renders_cleanly(info)


def assert_renders_cleanly(info: dict[str, Any]) -> None:
    """Every image decoded, no script, every contents link has its target, and nothing but
    the page itself (and inline data) was requested."""
    for img in info["images"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
    assert info["scripts"] == 0
    assert info["tocOk"]
    assert all(u.startswith(("file:", "data:")) for u in info["requests"]), info["requests"]
    assert all(u.startswith(("file:", "data:")) for u in info["resources"]), info["resources"]


def test_study_report_renders_in_chromium(chromium, tmp_path):
    """The report ``riskset study --example tdxd`` writes: every figure decoded, no errors."""
    from riskset.study.run import run_study, write_study
    from riskset.study.spec import load_spec

    spec = load_spec(Path(riskset.__file__).parent / "study" / "examples" / "tdxd.toml")
    out = write_study(run_study(spec), tmp_path / "study")
    figures = json.loads((out / "results.json").read_text())["figures"]
    info = inspect_page(chromium, (out / "report.html").as_uri(), str(tmp_path / "profile"))
    assert info["title"] == spec.title
    assert info["errors"] == []
    assert len(figures) >= 12 and len(info["images"]) == len(figures)
    assert_renders_cleanly(info)


def test_harness_detects_broken_page(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="data:image/png;base64,AAAA"><img src="missing.png">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    info = inspect_page(chromium, bad.as_uri(), str(tmp_path / "profile"))
    assert any("boom" in e for e in info["errors"]), info["errors"]
    assert not all(i["complete"] and i["w"] > 0 for i in info["images"])
