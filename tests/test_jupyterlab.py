"""Opening a notebook in JupyterLab and running nothing leaves it unmodified.

JupyterLab writes the kernel's ``language_info`` into a notebook when the kernel connects and
marks the file changed if that differs from what the file holds; students then get "save
changes?" prompts and autosave rewrites tracked files (a later ``git pull`` fails). Every
committed notebook therefore carries exactly what ipykernel reports on the course's Python
(``coursetools.notebooks.LANGUAGE_INFO``); the browser test opens notebooks in a real
JupyterLab in headless Chromium and checks that none is marked changed.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from coursetools import ROOT
from coursetools.notebooks import ALL_FOLDERS, KERNELSPEC, LANGUAGE_INFO, find_notebooks

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ON_CI = os.environ.get("CI", "").lower() == "true"


@pytest.mark.parametrize(
    "path",
    find_notebooks(ALL_FOLDERS) + [ROOT / "chapters" / "00-preface.ipynb"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_notebook_metadata_is_what_the_kernel_reports(path):
    meta = nbformat.read(path, as_version=4).metadata
    assert meta.get("kernelspec") == KERNELSPEC, (
        f"{path.name}: kernelspec {meta.get('kernelspec')}"
    )
    assert meta.get("language_info") == LANGUAGE_INFO, (
        f"{path.name}: language_info {meta.get('language_info')}; write notebooks with "
        "coursetools.notebooks.write_notebook"
    )


def test_the_pinned_language_info_is_what_ipykernel_reports():
    """The pin is ipykernel's own answer on the course's Python, not a guess."""
    from jupyter_client.manager import start_new_kernel

    if platform.python_version() != LANGUAGE_INFO["version"]:
        pytest.skip(
            f"this is Python {platform.python_version()}; the notebooks are pinned to "
            f"{LANGUAGE_INFO['version']}, the course's tested Python"
        )
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.kernel_info(reply=True, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["language_info"] == LANGUAGE_INFO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on loopback over a copy of the course's notebooks and utils."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = (
            f"needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        )
        if ON_CI:
            pytest.fail(f"on CI the JupyterLab browser test must run: {reason}")
        pytest.skip(reason)
    if platform.python_version() != LANGUAGE_INFO["version"]:
        pytest.skip(
            f"JupyterLab marks a notebook changed when its Python ({platform.python_version()}) "
            f"differs from the notebooks' pinned {LANGUAGE_INFO['version']}"
        )
    course = tmp_path / "course"
    for folder in ("utils", "chapters", "exercises"):
        shutil.copytree(
            ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    port = _free_port()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PYTHONPATH=str(course),
    )
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            "--allow-root",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={course}",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(
                "JupyterLab did not start: "
                + (tmp_path / "lab.log").read_text()[-2000:]
            )
        yield course, f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


STATE = """
const tab = document.querySelector('.lm-DockPanel .lm-TabBar-tab.lm-mod-current');
const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
return {dirty: tab ? tab.classList.contains('jp-mod-dirty') : null,
        title: tab ? tab.textContent : null,
        status: status ? status.getAttribute('data-status') : null};"""


def test_opening_a_chapter_and_an_exercise_leaves_them_unmodified(lab, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    course, url = lab
    names = ["chapters/00-preface.ipynb"]
    names += [
        str(p.relative_to(ROOT)) for p in find_notebooks(("chapters", "exercises"))[1:2]
    ]
    names += [str(p.relative_to(ROOT)) for p in find_notebooks(("exercises",))[:1]]
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    problems = []
    try:
        for name in dict.fromkeys(names):
            before = (course / name).read_bytes()
            driver.get(f"{url}/lab/tree/{name}")
            state = {}
            for _ in range(120):  # the kernel starts and reports its language_info
                time.sleep(1)
                state = driver.execute_script(STATE)
                if state.get("status") == "idle":
                    break
            time.sleep(3)  # let the metadata update land
            state = driver.execute_script(STATE)
            if state.get("status") != "idle":
                problems.append(f"{name}: the kernel did not become idle ({state})")
            elif state["dirty"] is not False:
                problems.append(
                    f"{name}: JupyterLab marks it as changed after opening ({state})"
                )
            if (course / name).read_bytes() != before:
                problems.append(f"{name}: the file on disk changed")
    finally:
        driver.quit()
    assert not problems, "\n".join(problems)
