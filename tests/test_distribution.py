"""The distribution as a vendor gets it: an sdist and a wheel, built from this checkout,
installed into a fresh virtual environment outside it, used from an empty folder.

The wheel is built from the sdist (as ``python -m build`` does), so both are proven: the
mock starts from another folder, ``facematch check`` passes it, the pytest plugin gives the
same verdict through ``pytest --pyargs contract_tests``, and the packaged contract and
fixtures are byte for byte the repository's (one source of truth).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .kit_commands import PLUGIN_ARGS
from .live import ROOT, free_port, stop_process_group

# Builds, installs and starts the packaged server: a server test too (left out of -m "not server").
pytestmark = [pytest.mark.distribution, pytest.mark.server]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    bin: Path  # the fresh venv's bin/ folder

    def run(self, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "FACEMATCH_"))}
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel = next(dist.glob("facematch_kit-*.whl"))
    sdist = next(dist.glob("facematch_kit-*.tar.gz"))
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    done = subprocess.run(
        # --no-compile, as scripts/install: each process compiles what it imports, once.
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-compile", f"{wheel}[kit]"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Installed(wheel, sdist, bin_dir)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_packaged_contract_is_the_repositorys(installed: Installed) -> None:
    link = ROOT / "facematch_contract" / "openapi.yaml"
    assert link.is_symlink() and link.resolve() == (ROOT / "openapi.yaml").resolve(), "one file, not a copy"
    repo_files = {
        "openapi.yaml": (ROOT / "openapi.yaml").read_bytes(),
        "fixtures/manifest.json": (ROOT / "fixtures" / "manifest.json").read_bytes(),
    }
    repo_files |= {f"fixtures/images/{p.name}": p.read_bytes() for p in (ROOT / "fixtures" / "images").iterdir()}
    with zipfile.ZipFile(installed.wheel) as wheel:
        packaged = {
            name.removeprefix("facematch_contract/"): wheel.read(name)
            for name in wheel.namelist()
            if name.startswith("facematch_contract/") and not name.endswith(".py")
        }
    assert {k: _sha(v) for k, v in packaged.items()} == {k: _sha(v) for k, v in repo_files.items()}
    with tarfile.open(installed.sdist) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.endswith("facematch_contract/openapi.yaml"))
        extracted = sdist.extractfile(member)
        assert extracted is not None and extracted.read() == repo_files["openapi.yaml"]


@pytest.fixture(scope="module")
def installed_mock(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`facematch serve` from the fresh venv, started in an empty folder."""
    folder = tmp_path_factory.mktemp("serve-here")
    port = free_port()
    process = subprocess.Popen(
        [str(installed.bin / "facematch"), "serve", "--port", str(port), "--quiet"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            output = process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
            raise RuntimeError(f"the installed mock did not start: {output[-3000:]}")
        yield url
    finally:
        stop_process_group(process)


def test_the_installed_mock_serves_from_another_folder(
    installed_mock: str, installed: Installed, tmp_path: Path
) -> None:
    token = installed.run("facematch", "token", cwd=tmp_path).stdout.strip()
    face = (ROOT / "fixtures" / "images" / "hopper_a.jpg").read_bytes()
    answer = requests.post(
        installed_mock + "/advanced_facematch",
        headers={"Authorization": f"Bearer {token}"},
        files={"image1": ("hopper_a.jpg", face, "image/jpeg")},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["image1"]["confidence"] == 95.2
    contract = requests.get(installed_mock + "/openapi.yaml", timeout=30)
    assert contract.content == (ROOT / "openapi.yaml").read_bytes()


def test_the_installed_kit_passes_the_installed_mock(installed_mock: str, installed: Installed, tmp_path: Path) -> None:
    # Few generated examples: this proves the installed kit runs and judges; its thoroughness
    # against the mock is tests/test_kit_mock.py's (the default 100).
    done = installed.run("facematch", "check", "--base-url", installed_mock, "--max-examples", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    evidence = json.loads((tmp_path / "reports" / "contract-report.json").read_text())
    assert evidence["verdict"] == "PASS" and evidence["contract_sha256"] == _sha((ROOT / "openapi.yaml").read_bytes())
    reports = tmp_path / "reports"
    assert (reports / "contract-junit.xml").is_file() and (reports / "contract-report.md").is_file()


def test_the_installed_pytest_plugin_from_an_empty_folder(
    installed_mock: str, installed: Installed, tmp_path: Path
) -> None:
    done = installed.run(
        "python",
        *PLUGIN_ARGS,
        "--facematch-base-url",
        installed_mock,
        "--facematch-max-examples",
        "3",
        "--facematch-json",
        "evidence.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert json.loads((tmp_path / "evidence.json").read_text())["verdict"] == "PASS"
    options = installed.run("python", "-m", "pytest", "--help", cwd=tmp_path).stdout
    assert "--facematch-base-url" in options and "\n  --base-url" not in options


def test_the_installed_bulk_client_runs(installed_mock: str, installed: Installed, tmp_path: Path) -> None:
    cases = tmp_path / "cases.zip"
    with zipfile.ZipFile(cases, "w") as archive:
        archive.write(ROOT / "fixtures" / "images" / "hopper_a.jpg", "alice/image1.jpg")
        archive.write(ROOT / "fixtures" / "images" / "hopper_b.jpg", "alice/image2.jpg")
    done = installed.run(
        "facematch", "bulk", str(cases), "--base-url", installed_mock, "--output", "out.zip", "--quiet", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with zipfile.ZipFile(tmp_path / "out.zip") as results:
        assert "alice" in results.read("results.csv").decode()


FIXTURE_TEST = """
import requests


def test_the_fixture_steers_a_running_mock(facematch_mock):
    facematch_mock.control.define_sequence("flaky", [{"fault": "503"}, "normal"], key={"header": "X-Session-ID"})
    headers = {**facematch_mock.auth_headers, "X-Session-ID": "s1"}
    files = {"image1": ("me.jpg", b"\\xff\\xd8" + b"0" * 4096, "image/jpeg")}
    statuses = [requests.post(facematch_mock.base_url + "/advanced_facematch", headers=headers, files=files,
                              timeout=30).status_code for _ in range(2)]
    assert statuses == [503, 400]
    assert facematch_mock.control.count(path="/advanced_facematch", image2=False) == 2
"""


def test_the_installed_mock_fixture_runs_a_steerable_mock(installed: Installed, tmp_path: Path) -> None:
    (tmp_path / "test_frontend.py").write_text(FIXTURE_TEST)
    done = installed.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_frontend.py", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
