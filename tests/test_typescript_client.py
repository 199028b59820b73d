"""The TypeScript client (clients/typescript): generated files current, strict type check,
the MSW handlers byte-identical to the real Python mock, and the README's frontend snippets.

Node and the npm packages come from ``scripts/install test`` (Debian's nodejs/npm, then
``npm ci``). Without them these tests are skipped on a developer's machine and fail in CI.
"""

from __future__ import annotations

import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token

from .live import ROOT, start_server

CLIENT = ROOT / "clients" / "typescript"
BIN = CLIENT / "node_modules" / ".bin"
GENERATED = ("contract-data.ts", "schema.d.ts")
SNIPPETS = CLIENT / "snippets"
IMAGE_COUNT = 200
FORMATS = ("JPEG", "PNG", "WEBP")

if shutil.which("node") is None or not (BIN / "tsx").exists():
    if os.environ.get("CI"):
        raise RuntimeError("node and clients/typescript/node_modules are missing: run scripts/install test")
    pytest.skip("node or clients/typescript/node_modules missing (scripts/install test)", allow_module_level=True)


def run(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command,
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    assert done.returncode == 0, (
        f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    )
    return done


def node_test(path: str, env: dict[str, str]) -> str:
    return run(["node", "--import", "tsx", "--test", "--test-reporter=spec", path], env).stdout


def test_generated_files_are_current(tmp_path: Path) -> None:
    run([sys.executable, str(CLIENT / "generate.py"), "--out", str(tmp_path)])
    for name in GENERATED:
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        committed = (CLIENT / "src" / name).read_text(encoding="utf-8")
        assert fresh == committed, f"clients/typescript/src/{name} is stale: run clients/typescript/generate.py"


def test_wrapper_and_handlers_type_check_strictly() -> None:
    config = json.loads((CLIENT / "tsconfig.json").read_text())
    assert config["compilerOptions"]["strict"] is True
    run([str(BIN / "tsc"), "--strict", "--noEmit", "-p", "tsconfig.json"])


def generated_images(directory: Path) -> list[Path]:
    """Deterministic small photos-to-be (noise and gradients) in the three formats, each
    inside the size window, written as files for the node test to read."""
    directory.mkdir()
    paths = []
    for index in range(IMAGE_COUNT):
        rng = random.Random(index)
        side = rng.randrange(40, 64)
        image = Image.new("RGB", (side, side))
        image.putdata([(rng.randrange(256), (x * 7) % 256, rng.randrange(256)) for x in range(side * side)])
        buffer = io.BytesIO()
        image.save(buffer, FORMATS[index % 3], **({"quality": 90} if FORMATS[index % 3] != "PNG" else {}))
        data = buffer.getvalue()
        assert 1024 <= len(data) <= 10 * 1024 * 1024
        path = directory / f"{index:03d}.{FORMATS[index % 3].lower()}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def python_cases() -> dict[str, list[list[object]]]:
    """Values and how Python writes them: repr(float), round(x, 2), repr(str)."""
    rng = random.Random(14)
    floats = [
        0.0,
        -0.0,
        1.0,
        95.0,
        93.5,
        0.01,
        1e-4,
        1e-5,
        1.5e-7,
        5e-324,
        1e15,
        1e16,
        1.2345e22,
        123456789012345.6,
        1.7976931348623157e308,
        -3.5,
        0.1 + 0.2,
        2 / 3,
    ]
    floats += [round(rng.uniform(0, 100), rng.choice((1, 2))) for _ in range(300)]
    floats += [rng.uniform(-1e-3, 1e-3) for _ in range(50)]
    floats += [math.ldexp(rng.random(), rng.randrange(-60, 80)) for _ in range(50)]
    rounds = [0.125, 0.375, 0.625, 0.875, -0.125, 2.675, 1.005, 91.825, 99.995, 0.005, 0.015]
    rounds += [math.exp(sum(math.log(rng.uniform(5, 100)) for _ in range(3)) / 3) for _ in range(300)]
    reprs = [
        "faces_mismatch",
        "it's",
        'say "hi"',
        "both ' and \"",
        "back\\slash",
        "tab\tnew\nline\r",
        "\x00\x1f\x7f",
        "caf\u00e9",
        "\u00a0nbsp",
        "\u200bzero-width",
        "\u2028",
        "\U0001f600",
        "\ud7ff",
        "code=2\u00b2",
    ]
    return {
        "floats": [[value, repr(value)] for value in floats],
        "rounds": [[value, round(value, 2)] for value in rounds],
        "reprs": [[value, repr(value)] for value in reprs],
    }


@pytest.mark.server
def test_msw_handlers_give_the_mocks_bytes(tmp_path: Path) -> None:
    generated_images(tmp_path / "images")
    cases = tmp_path / "python-cases.json"
    cases.write_text(json.dumps(python_cases()))
    with start_server() as url:
        output = node_test(
            "test/parity.test.ts",
            {
                "FACEMATCH_MOCK_URL": url,
                "FACEMATCH_TOKEN": mint_token(DEV_JWT_SECRET),
                "FACEMATCH_EXPIRED_TOKEN": mint_token(DEV_JWT_SECRET, expires_in=-120),
                "FACEMATCH_FOREIGN_TOKEN": mint_token("another-secret-entirely"),
                "FACEMATCH_IMAGES_DIR": str(tmp_path / "images"),
                "FACEMATCH_FIXTURES_DIR": str(ROOT / "fixtures"),
                "FACEMATCH_PY_CASES": str(cases),
            },
        )
    assert re.search(r"^ℹ pass [1-9]", output, re.M) and re.search(r"^ℹ fail 0$", output, re.M), output


def test_msw_handlers_alone() -> None:
    output = node_test("test/handlers.test.ts", {})
    assert re.search(r"^ℹ fail 0$", output, re.M), output


def readme_frontend_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("### Three ways to use it from a frontend")
    return text[start:]


@pytest.mark.parametrize("snippet", sorted(p.name for p in SNIPPETS.glob("*.ts")))
def test_readme_snippet_is_the_file_the_tests_run(snippet: str) -> None:
    code = (SNIPPETS / snippet).read_text(encoding="utf-8")
    assert f"```ts\n{code}```" in readme_frontend_section(), (
        f"README's copy of snippets/{snippet} differs from the file"
    )


@pytest.mark.server
def test_readme_snippets_run() -> None:
    token = mint_token(DEV_JWT_SECRET)
    photo = str(ROOT / "fixtures" / "images" / "hopper_a.jpg")
    with start_server() as url:
        env = {"FACEMATCH_URL": url, "FACEMATCH_TOKEN": token, "PHOTO": photo}
        outputs = {p.name: run(["node", "--import", "tsx", str(p)], env).stdout for p in sorted(SNIPPETS.glob("*.ts"))}
    assert len(outputs) == 3, outputs
    assert "faces_mismatch: overall False" in outputs["1-point-at-the-mock.ts"], outputs
    assert "401 missing bearer token" in outputs["2-msw-in-tests.ts"], outputs
    assert "200 real 95.2" in outputs["3-typed-wrapper.ts"], outputs


def test_linters_are_clean(tmp_path: Path) -> None:
    redocly = run(
        [
            str(BIN / "redocly"),
            "lint",
            "--config",
            str(ROOT / "redocly.yaml"),
            "--format=json",
            str(ROOT / "openapi.yaml"),
        ]
    )
    totals = json.loads(redocly.stdout)["totals"]
    assert totals["errors"] == 0 and totals["warnings"] == 0, redocly.stdout
    report = tmp_path / "spectral.json"
    run(
        [
            str(BIN / "spectral"),
            "lint",
            "--ruleset",
            str(ROOT / ".spectral.yaml"),
            "--format",
            "json",
            "--output",
            str(report),
            "--fail-severity",
            "warn",
            str(ROOT / "openapi.yaml"),
        ]
    )
    findings = [f for f in json.loads(report.read_text()) if f["severity"] <= 1]  # 0 error, 1 warning
    assert findings == [], findings


#: The seeded random faults both the mock (command line) and the handlers (options) are given.
SEEDED_FAULTS = ("503,429,502,reset", "0.5", "7")


@pytest.mark.server
def test_msw_faults_and_delays_match_the_mock() -> None:
    """``Prefer: fault=``/``fault-ms=``/``delay=`` and seeded random faults: the handlers
    against a plain mock and against one started with ``--faults --fault-rate --fault-seed``
    on one worker (so that requests without a correlation id are keyed by their number)."""
    faults, rate, seed = SEEDED_FAULTS
    seeded_args = ("--faults", faults, "--fault-rate", rate, "--fault-seed", seed, "--workers", "1")
    with start_server() as url, start_server(*seeded_args) as seeded_url:
        output = node_test(
            "test/faults.test.ts",
            {
                "FACEMATCH_MOCK_URL": url,
                "FACEMATCH_SEEDED_MOCK_URL": seeded_url,
                "FACEMATCH_SEEDED_FAULTS": faults,
                "FACEMATCH_SEEDED_RATE": rate,
                "FACEMATCH_SEEDED_SEED": seed,
                "FACEMATCH_TOKEN": mint_token(DEV_JWT_SECRET),
                "FACEMATCH_FIXTURES_DIR": str(ROOT / "fixtures"),
            },
        )
    assert re.search(r"^ℹ pass [1-9]", output, re.M) and re.search(r"^ℹ fail 0$", output, re.M), output
