"""The suite installed from its wheel, outside this checkout, run from another directory.

The wheel is built offline from a copy of the sources (``python -m build --no-isolation``) and
installed with ``--no-deps`` into a fresh venv, as pip would install it. Its third-party
dependencies are not downloaded again: the venv gets one ``.pth`` naming a directory of links
to exactly the distributions the wheel declares, with their own dependencies, taken from this
venv. So the installed suite sees what a ``pip install`` of the wheel would give it, and no
more: not this checkout (not on its path), not the test tools, not an undeclared library (a
module imported but not declared fails here as it would for a user).
"""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

SOURCES = ("pyproject.toml", "conformance", "specs", "fixtures")


def _build_wheel(workdir: Path) -> Path:
    source = workdir / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(ROOT / name, source / name)
    dist = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = dist.glob("*.whl")
    return wheel


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def _dependency_closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The distributions of this venv that installing ``requirements`` (no extras of the suite)
    brings in, each with the extras asked of it."""
    found: dict[str, importlib.metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    pending = [(text, frozenset({""})) for text in requirements]
    while pending:
        text, extras = pending.pop()
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and not any(marker.evaluate({"extra": e}) for e in extras):
            continue
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        distribution = importlib.metadata.distribution(requirement.name)
        found[key[0]] = distribution
        asked = frozenset({"", *requirement.extras})
        pending += [(r, asked) for r in distribution.requires or []]
    return list(found.values())


def _link_dependencies(distributions: list[importlib.metadata.Distribution], into: Path) -> None:
    """Links to each distribution's top-level modules, packages and metadata directory."""
    into.mkdir()
    for distribution in distributions:
        for top in {f.parts[0] for f in distribution.files or []} - {"..", "__pycache__"}:
            link = into / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel installed; its bin directory."""
    workdir = tmp_path_factory.mktemp("install")
    wheel = _build_wheel(workdir)
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = workdir / "dependencies"
    _link_dependencies(_dependency_closure(_requirements(wheel)), dependencies)
    Path(site, "dependencies.pth").write_text(f"{dependencies}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return venv / "bin"


def _as_user(
    installed: Path, *args: str | Path, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` (a program of the installed venv first) as a user's shell would."""
    program, *rest = args
    return subprocess.run(
        [installed / program, *rest],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_clean_environment(),
        timeout=timeout,
    )


def _clean_environment() -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into this checkout or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    return env


def test_the_installed_console_command_runs_from_another_directory(
    installed: Path, tmp_path: Path
) -> None:
    """``--nginx-conf relative/path`` (space form) and ``--evidence out`` are the user's paths:
    read and written in the directory the command is started from, not in site-packages."""
    (tmp_path / "relative").mkdir()
    shutil.copy(ROOT / "fixtures" / "host" / "nginx.conf", tmp_path / "relative" / "nginx.conf")
    env = _clean_environment()
    imported = subprocess.run(
        [installed / "python", "-c", "import conformance, specs; print(conformance.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert Path(imported).is_relative_to(installed.parent), imported  # not this checkout

    command = [
        "atlas-conformance",
        "--phase",
        "1",
        "--nginx-conf",
        "relative/nginx.conf",
    ]
    run = _as_user(installed, *command, "--evidence", "out", cwd=tmp_path, timeout=180)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "unrecognized arguments" not in run.stderr
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert evidence["verdict"] == "conformant"
    nginx = [r for r in evidence["results"] if r["id"].startswith("nginx.")]
    assert nginx and all(r["outcome"] == "passed" for r in nginx)
    assert (tmp_path / "out" / "conformance.html").is_file()
    venv = installed.parent
    written = {"out", "evidence.json", ".pytest_cache"}
    assert not [p for p in venv.rglob("*") if p.name in written], "written into the venv"
    assert (tmp_path / ".pytest_cache").is_dir()
    summary = _as_user(installed, "atlas-conformance", "summary", "--check", "out", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("## Conformance: conformant")


def test_the_installed_command_lists_and_refuses_like_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    listed = _as_user(installed, "atlas-conformance", "--list-drifts", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "sg-web-extra-port" in listed.stdout
    refused = _as_user(
        installed, "atlas-conformance", "--nginx-conf", "missing/nginx.conf", cwd=tmp_path
    )
    assert refused.returncode == 4
    assert refused.stderr.strip() == (
        "ERROR: --nginx-conf missing/nginx.conf: No such file or directory"
    )


def test_a_checkout_run_with_another_installed_copy_is_refused(installed: Path) -> None:
    """``pytest`` in this checkout with the wheel installed and the checkout not on the path
    (the ``pytest`` script, tox's non-editable install): the checkout's spec files would match
    none of the installed checks, so the run is refused in one line rather than empty."""
    done = subprocess.run(
        [installed / "python", "-I", "-m", "pytest", "-p", "no:cacheprovider", "-k", "net.vpc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_clean_environment(),
        timeout=60,
    )
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line]
    assert line.startswith(f"ERROR: pytest loaded the suite installed in {installed.parent}")


def test_the_packaged_configuration_says_what_the_checkout_says() -> None:
    """``atlas-conformance`` runs with conformance/suite.ini; plain pytest in the checkout with
    pytest.ini. The same options, but the checkout's testpaths."""

    def options(path: Path) -> dict[str, str]:
        parser = configparser.ConfigParser()
        parser.read(path)
        return dict(parser["pytest"])

    checkout = options(ROOT / "pytest.ini")
    assert checkout.pop("testpaths") == "specs"
    assert options(ROOT / "conformance" / "suite.ini") == checkout
