"""The Playground in a real browser (headless Chromium) against a real gunicorn mock.

What the page renders is checked against what the server answers to the same request sent
by hand (requests, real multipart), and against the manifest's and the contract's stated
outcomes; the bulk flow ends in the same archive as ``facematch bulk``; the single-call form
is used with the keyboard alone; any CSP violation or script error fails the test.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image, ImageOps
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from facematch_bulk.archive import ArchiveRefused, InputArchive
from facematch_contract import SPEC_PATH
from facematch_contract.tokens import mint_token
from mock_server.faults import MAX_DELAY_MS, RETRY_AFTER_S, Fault, parse_delay, parse_duration_ms
from mock_server.launch import free_port
from mock_server.playground.blueprint import FAULT_WORDS
from mock_server.spec import Contract

from .browser import Browser, chromium
from .bulk_builders import clean_set, hostile_archives, regression_set, write, zip_bytes
from .conftest import FIXTURES, fixture_path
from .live import start_server
from .test_bulk_cli import read_output, run_bulk

pytestmark = pytest.mark.server

CONTRACT = Contract(SPEC_PATH)
#: results.csv columns the page's table shows, in order.
TABLE_KEYS = [
    "case",
    "unique_id",
    "status",
    "image1.result",
    "image1.confidence",
    "image2.result",
    "image2.confidence",
    "image1_image2_facematch.result",
    "image1_image2_facematch.confidence",
    "overall_result",
    "overall_confidence",
    "error",
]
#: Hostile archives whose refusal only the decompressed bytes show (the server's job).
CONTENT_ONLY = {"nested-by-bytes", "lying-bomb"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def page(browser: Browser, mock_url: str) -> Iterator[Browser]:
    """The Playground freshly loaded; after the test, no CSP violation and no script error."""
    browser.viewport(1280)
    browser.color_scheme("light")
    open_page(browser, mock_url)
    yield browser
    assert browser.problems() == []


#: Set on a page loaded by ``form_page``; gone once anything navigates.
_KEPT = "window.__facematchKeptForm"


@pytest.fixture
def form_page(browser: Browser, mock_url: str) -> Iterator[Browser]:
    """The Playground, loaded once for a run of tests that only fill in the single-call form
    and send it (``send`` sets every field it reads: photos, scenario, correlation id; the
    token and target are left as loaded), and loaded again after any test that navigated.
    Checked after each test, as ``page`` is: no CSP violation and no script error."""
    browser.viewport(1280)
    browser.color_scheme("light")
    kept = browser.driver.execute_script(f"return {_KEPT} === true")
    if not kept or browser.driver.current_url != mock_url + "/playground/":
        open_page(browser, mock_url)
        browser.driver.execute_script(f"{_KEPT} = true")
    yield browser
    assert browser.problems() == []


def open_page(browser: Browser, base_url: str) -> None:
    browser.driver.get(base_url + "/")
    browser.wait().until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    assert browser.driver.current_url == base_url + "/playground/"


def by_id(browser: Browser, element_id: str) -> Any:
    return browser.driver.find_element(By.ID, element_id)


def choose_file(browser: Browser, element_id: str, path: Path | None) -> None:
    field = by_id(browser, element_id)
    if path is None:
        browser.driver.execute_script(
            "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('change'));", field
        )
    else:
        field.send_keys(str(path))


def result_count(browser: Browser) -> int:
    script = "return Number(document.getElementById('single-result').dataset.count || 0)"
    return int(browser.driver.execute_script(script))


RENDERED = """
const text = (id) => document.getElementById(id).textContent;
const pairs = (selector) => [...document.querySelectorAll(selector)].map((node) => node.textContent);
const headerNames = pairs("#res-headers dt").map((name) => name.toLowerCase());
const headerValues = pairs("#res-headers dd");
return {
  status: text("res-status"),
  tone: document.getElementById("res-summary").dataset.tone,
  summary: Object.fromEntries(
    [...document.querySelectorAll("#res-summary dd")].map((node) => [node.dataset.key, node.textContent])),
  json: text("res-json"),
  headers: Object.fromEntries(headerNames.map((name, index) => [name, headerValues[index]])),
  curl: document.getElementById("res-curl").value,
  timing: text("res-timing"),
  correlation_id: text("res-cid"),
};
"""


def rendered(browser: Browser) -> dict[str, Any]:
    """What the answer panel shows: status, summary items by key, JSON, headers, curl (one round trip)."""
    shown = dict(browser.driver.execute_script(RENDERED))
    text = shown["json"]
    shown["json"] = json.loads(text) if text.strip().startswith(("{", "[")) else text
    return shown


def send(
    browser: Browser, image1: Path | None, image2: Path | None = None, *, scenario: str = "", correlation_id: str = ""
) -> dict[str, Any]:
    choose_file(browser, "image1", image1)
    choose_file(browser, "image2", image2)
    Select(by_id(browser, "scenario")).select_by_value(scenario)
    field = by_id(browser, "correlation-id")
    field.clear()
    if correlation_id:
        field.send_keys(correlation_id)
    return send_current(browser)


def by_hand(
    base_url: str, token: str, image1: Path | None, image2: Path | None = None, scenario: str = ""
) -> requests.Response:
    files = []
    for role, path in (("image1", image1), ("image2", image2)):
        if path is not None:
            files.append((role, (path.name, path.read_bytes(), "application/octet-stream")))
    headers = {"Authorization": f"Bearer {token}"}
    if scenario:
        headers["Prefer"] = f"example={scenario}"
    return requests.post(
        base_url + "/advanced_facematch", files=files or {"unique_id": (None, "x")}, headers=headers, timeout=30
    )


def page_token(browser: Browser) -> str:
    return by_id(browser, "token").get_attribute("value")


MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[entry["file"].rsplit("/", 1)[-1] for entry in MANIFEST])
def test_each_fixture_kind_renders_the_servers_answer(form_page: Browser, mock_url: str, entry: dict[str, Any]) -> None:
    page = form_page
    path = FIXTURES / entry["file"]
    shown = send(page, path, correlation_id="pg-" + path.stem.replace("_", "-"))
    expected = by_hand(mock_url, page_token(page), path)
    assert shown["status"] == f"HTTP {expected.status_code}"
    assert shown["json"] == expected.json()
    assert shown["correlation_id"] == "pg-" + path.stem.replace("_", "-")
    assert shown["headers"]["x-correlation-id"] == shown["correlation_id"]
    assert shown["headers"]["content-type"] == "application/json"
    assert "x-contract-violation" not in shown["headers"]
    assert shown["timing"].endswith(" ms")
    assert f"'image1=@{path.name}'" in shown["curl"]
    canned = entry["canned"]
    if "liveness" in canned:
        assert expected.status_code == 200
        verdict = "passed" if canned["liveness"] == "real" else "not passed"
        assert shown["summary"]["verdict"].startswith(verdict + " ")
        if canned["liveness"] == "real":
            assert shown["summary"]["image1"] == f"real, score {canned['score']}"
        else:
            assert shown["summary"]["image1"] == (
                f"fake (a presentation attack), score 0 (score before the fake rule: {canned['score']})"
            )
        assert shown["summary"]["image2"] == "not sent"
        assert shown["summary"]["match"] == "not performed (one photo)"
    else:
        assert expected.status_code == 400
        assert shown["tone"] == "error"
        assert shown["summary"]["error"] == expected.json()["msg"]
        assert "JPEG, PNG or WebP" in shown["summary"]["advice"]


@pytest.mark.parametrize(
    ("first", "second", "match"),
    [
        ("hopper_a.jpg", "hopper_b.jpg", "same person"),
        ("astronaut_a.jpg", "hopper_a.jpg", "different people"),
        ("astronaut_a.jpg", "recapture.jpg", "same person"),
    ],
)
def test_two_photos_render_the_match(form_page: Browser, mock_url: str, first: str, second: str, match: str) -> None:
    page = form_page
    shown = send(page, fixture_path(first), fixture_path(second))
    expected = by_hand(mock_url, page_token(page), fixture_path(first), fixture_path(second)).json()
    assert shown["json"] == expected
    confidence = expected["image1_image2_facematch"]["confidence"]
    assert shown["summary"]["match"] == f"{match}, confidence {confidence}"
    assert shown["summary"]["image2"].startswith(expected["image2"]["result"])
    passed = expected["overall_result"] == "True"
    assert shown["tone"] == ("ok" if passed else "fail")
    assert f"'image2=@{second}'" in shown["curl"]


@pytest.mark.parametrize("name", list(CONTRACT.examples))
def test_each_named_scenario_renders_its_example(form_page: Browser, name: str) -> None:
    page = form_page
    example = CONTRACT.examples[name]
    body = json.loads(example.body)
    shown = send(page, fixture_path("hopper_a.jpg"), fixture_path("hopper_b.jpg"), scenario=name)
    assert shown["status"] == f"HTTP {example.status}"
    assert shown["json"] == body
    assert f"'Prefer: example={name}'" in shown["curl"]
    if example.status == 200:
        verdict = "passed" if body["overall_result"] == "True" else "not passed"
        assert shown["summary"]["verdict"] == (
            f"{verdict} (overall_result {body['overall_result']}, overall confidence {body['overall_confidence']})"
        )
        assert shown["summary"]["image1"].startswith(body["image1"]["result"])
    else:
        assert shown["tone"] == "error"
        assert shown["summary"]["error"] == (body.get("msg") or body.get("message"))
        assert shown["summary"]["advice"]


def test_without_image1_the_page_shows_the_422(page: Browser) -> None:
    shown = send(page, None)
    assert shown["status"] == "HTTP 422"
    assert shown["summary"]["error"] == shown["json"]["message"]
    assert "choose image1" in shown["summary"]["advice"]


def test_a_bad_token_says_what_to_paste(page: Browser) -> None:
    field = by_id(page, "token")
    field.clear()
    field.send_keys("not-a-jwt")
    shown = send(page, fixture_path("hopper_a.jpg"))
    assert shown["status"] == "HTTP 401"
    assert "facematch token" in shown["summary"]["advice"]


def test_an_unreachable_target_gets_a_clear_note(page: Browser) -> None:
    target(page, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    shown = send(page, fixture_path("hopper_a.jpg"))
    assert shown["status"] == "no answer"
    assert "CORS" in shown["summary"]["advice"]
    page.driver.get_log("browser")  # the refused connection is logged; it is not a CSP problem


def target(browser: Browser, base_url: str) -> None:
    field = by_id(browser, "base-url")
    field.clear()
    field.send_keys(base_url)


def test_another_base_url_is_called_across_origins(page: Browser, mock_url: str) -> None:
    """localhost is another origin than 127.0.0.1: the mock's CORS lets the page read it."""
    other = mock_url.replace("127.0.0.1", "localhost")
    target(page, other)
    shown = send(page, fixture_path("hopper_a.jpg"), correlation_id="cross-origin-1")
    assert shown["status"] == "HTTP 200"
    assert shown["correlation_id"] == "cross-origin-1"  # exposed by the mock's CORS headers
    assert shown["summary"]["image1"].startswith("real, ")
    assert shown["curl"].startswith(f"curl -sS -X POST '{other}/advanced_facematch'")


def test_a_target_without_cors_gets_the_cors_note(page: Browser) -> None:
    with start_server("--cors", "none", "--workers", "1") as other:
        target(page, other.replace("127.0.0.1", "localhost"))
        shown = send(page, fixture_path("hopper_a.jpg"))
    assert shown["status"] == "no answer"
    assert "allows this page's origin by CORS" in shown["summary"]["advice"]
    page.driver.get_log("browser")  # the blocked read is logged as a CORS error, not a CSP one


def test_exif_orientation_is_applied_in_the_preview(page: Browser) -> None:
    path = fixture_path("hopper_exif6.jpg")
    with Image.open(path) as image:
        stored = image.size
        upright = ImageOps.exif_transpose(image).size
    assert stored != upright, "the fixture must carry a rotating EXIF orientation"
    choose_file(page, "image1", path)
    page.wait().until(lambda d: d.execute_script("return document.getElementById('preview-image1').naturalWidth > 0"))
    shown = page.driver.execute_script(
        "const img = document.getElementById('preview-image1'); return [img.naturalWidth, img.naturalHeight];"
    )
    assert tuple(shown) == upright
    assert "as the server sees it" in by_id(page, "caption-image1").text


DROP = """
const [zoneId, name, type, encoded] = arguments;
const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name, { type }));
const zone = document.getElementById(zoneId);
zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
"""


def test_photos_and_archives_can_be_dropped(page: Browser, tmp_path: Path) -> None:
    photo = fixture_path("astronaut_a.jpg")
    encoded = base64.b64encode(photo.read_bytes()).decode()
    page.driver.execute_script(DROP, "drop-image1", photo.name, "image/jpeg", encoded)
    page.wait().until(lambda d: d.execute_script("return document.getElementById('preview-image1').naturalWidth > 0"))
    assert page.driver.execute_script("return document.getElementById('image1').files[0].name") == photo.name
    shown = send_current(page)
    assert shown["summary"]["image1"] == "real, score 96.4"

    by_id(page, "mode-bulk").click()
    archive = zip_bytes(clean_set(2))
    page.driver.execute_script(DROP, "drop-zip", "dropped.zip", "application/zip", base64.b64encode(archive).decode())
    page.wait().until(lambda _: by_id(page, "zip-check").is_displayed())
    assert check_report(page)["cases"] == ["c000", "c001"]


def send_current(browser: Browser) -> dict[str, Any]:
    before = result_count(browser)
    by_id(browser, "send").click()
    browser.wait().until(lambda _: result_count(browser) > before)
    return rendered(browser)


def test_the_dev_token_is_filled_in_and_kept_in_memory_only(page: Browser) -> None:
    token = page_token(page)
    assert token.count(".") == 2
    stored = page.driver.execute_script("return [sessionStorage.length, localStorage.length]")
    assert stored == [0, 0]
    by_id(page, "token-remember").click()
    assert page.driver.execute_script("return sessionStorage.getItem('facematch-playground-token')") == token
    by_id(page, "token-remember").click()
    assert page.driver.execute_script("return sessionStorage.length") == 0


def test_with_a_configured_secret_the_page_asks_for_a_token(page: Browser) -> None:
    """Also a server mounted under --prefix: the page calls the operation under it."""
    secret = "a-configured-secret-at-least-32-bytes-long"
    with start_server("--jwt-secret", secret, "--prefix", "/gw", "--workers", "1") as other:
        open_page(page, other + "/gw")
        assert page_token(page) == ""
        assert "facematch token --jwt-secret" in by_id(page, "token-hint").text
        assert by_id(page, "base-url").get_attribute("value") == other + "/gw"
        refused = send(page, fixture_path("hopper_a.jpg"))
        assert refused["status"] == "HTTP 401"
        by_id(page, "token").send_keys(mint_token(secret))
        shown = send(page, fixture_path("hopper_a.jpg"))
        assert shown["status"] == "HTTP 200"
        assert shown["curl"].startswith(f"curl -sS -X POST '{other}/gw/advanced_facematch'")
        assert page.problems() == []
        page.driver.get("about:blank")


def test_a_csp_violation_is_caught(page: Browser) -> None:
    """The watcher itself: an inline style is blocked and reported (so the check can fail)."""
    page.driver.execute_script(
        "const s = document.createElement('style'); s.textContent = 'body{color:red}'; document.head.append(s);"
    )
    found = page.wait(5).until(lambda _: page.problems() or None)
    time.sleep(0.3)  # the browser log line may come a moment after the event
    found += page.problems()
    assert any(problem.startswith("CSP style-src") for problem in found), found
    assert any(problem.startswith("log: ") and "Content Security Policy" in problem for problem in found), found


def test_keyboard_only_single_call(page: Browser) -> None:
    driver = page.driver
    choose_file(page, "image1", fixture_path("hopper_a.jpg"))
    choose_file(page, "image2", fixture_path("hopper_b.jpg"))
    driver.execute_script("document.activeElement.blur(); window.focus();")
    wanted = [
        "token",
        "token-show",
        "token-remember",
        "mode-single",
        "mode-bulk",
        "base-url",
        "op-path",
        "image1",
        "image2",
        "clear-image2",
        "unique-id",
        "correlation-id",
        "scenario",
        "send",
    ]
    reached: list[str] = []
    actions = ActionChains(driver)
    for _ in range(40):
        actions.send_keys(Keys.TAB).perform()
        element_id, outline = driver.execute_script(
            "const e = document.activeElement; const s = getComputedStyle(e);"
            "return [e.id, s.outlineStyle + ' ' + s.outlineWidth];"
        )
        if element_id in wanted and element_id not in reached:
            reached.append(element_id)
            assert outline == "solid 3px", f"{element_id} has no visible focus ({outline})"
            if element_id == "unique-id":
                actions.send_keys("kbd-001").perform()
        if element_id == "send":
            break
    assert reached == wanted
    before = result_count(page)
    actions.send_keys(Keys.ENTER).perform()
    page.wait().until(lambda _: result_count(page) == before + 1)
    assert driver.switch_to.active_element.get_attribute("id") == "send"
    actions.send_keys(Keys.SPACE).perform()
    page.wait().until(lambda _: result_count(page) == before + 2)
    shown = rendered(page)
    assert shown["status"] == "HTTP 200"
    assert "'unique_id=kbd-001'" in shown["curl"]


def open_bulk(browser: Browser, archive: Path) -> None:
    by_id(browser, "mode-bulk").click()
    assert by_id(browser, "bulk").is_displayed() and not by_id(browser, "single").is_displayed()
    browser.driver.execute_script("document.getElementById('zip-check').hidden = true;")
    by_id(browser, "zip").send_keys(str(archive))
    browser.wait().until(lambda _: by_id(browser, "zip-check").is_displayed())


def check_report(browser: Browser) -> dict[str, Any]:
    driver = browser.driver
    refusal = driver.find_elements(By.CSS_SELECTOR, "#zip-check .refusal")
    return {
        "refusal": refusal[0].text if refusal else None,
        "cases": [
            item.get_attribute("data-case") for item in driver.find_elements(By.CSS_SELECTOR, "#zip-check .cases li")
        ],
        "problems": [
            (item.get_attribute("data-case"), item.get_attribute("data-entry"), item.get_attribute("data-reason"))
            for item in driver.find_elements(By.CSS_SELECTOR, "#zip-check .problems li")
        ],
        "ignored": [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#zip-check .ignored li")],
        "run_enabled": by_id(browser, "bulk-run").is_enabled(),
    }


def table_rows(browser: Browser) -> list[list[str]]:
    rows = []
    for line in browser.driver.find_elements(By.CSS_SELECTOR, "#bulk-table tbody tr"):
        rows.append([cell.get_attribute("textContent") for cell in line.find_elements(By.CSS_SELECTOR, "th, td")])
    return rows


def run_to_results(browser: Browser) -> None:
    by_id(browser, "bulk-run").click()
    browser.wait(120).until(
        lambda _: (
            by_id(browser, "bulk-result").is_displayed() or by_id(browser, "bulk-state").text.startswith("Stopped")
        )
    )


def test_bulk_flow_matches_facematch_bulk(page: Browser, mock_url: str, tmp_path: Path) -> None:
    archive = write(tmp_path / "regression.zip", zip_bytes(regression_set()))
    open_bulk(page, archive)
    report = check_report(page)
    with InputArchive(archive) as reference:
        assert report["refusal"] is None
        assert report["cases"] == [case.id for case in reference.cases]
        assert report["problems"] == [(p.case, p.entry, p.reason) for p in reference.problems]
        assert report["ignored"] == reference.discovery.ignored
    assert report["run_enabled"]

    run_to_results(page)
    assert by_id(page, "bulk-state").text == "Finished."
    progress = page.driver.execute_script(
        "const p = document.getElementById('bulk-progress'); return [p.value, p.max];"
    )
    assert progress[0] == progress[1] == len(report["cases"]) + len({p[0] for p in report["problems"]})

    link = by_id(page, "bulk-download")
    name = link.get_attribute("download")
    assert name.startswith("bulk-") and name.endswith(".zip")
    link.click()
    downloaded = page.downloads / name
    page.wait(30).until(lambda _: downloaded.exists() and zipfile.is_zipfile(downloaded))
    by_page = read_output(downloaded)

    cli_output = tmp_path / "cli.zip"
    finished = run_bulk(str(archive), "-o", str(cli_output), "--base-url", mock_url, "--quiet")
    assert finished.returncode == 1, finished.stderr  # two cases cannot be sent
    by_cli = read_output(cli_output)
    for member in ("results.csv", "results.jsonl", "errors.csv"):
        assert by_page[member] == by_cli[member], member

    rows = list(csv.DictReader(io.StringIO(by_page["results.csv"].decode())))
    assert table_rows(page) == [[row[key] for key in TABLE_KEYS] for row in rows]
    summary = by_id(page, "bulk-summary").text
    assert summary.startswith(f"Done: {len(rows)} cases, ")

    Select(by_id(page, "filter-status")).select_by_value("200")
    assert [line[0] for line in table_rows(page)] == [row["case"] for row in rows if row["status"] == "200"]
    Select(by_id(page, "filter-status")).select_by_value("-")
    assert [line[0] for line in table_rows(page)] == [row["case"] for row in rows if row["status"] == ""]
    Select(by_id(page, "filter-status")).select_by_value("")
    Select(by_id(page, "filter-overall")).select_by_value("False")
    assert [line[0] for line in table_rows(page)] == [row["case"] for row in rows if row["overall_result"] == "False"]
    Select(by_id(page, "filter-overall")).select_by_value("")
    header = page.driver.find_element(By.CSS_SELECTOR, "#bulk-table th[data-key='case'] button")
    header.click()  # already sorted by case: the first click makes it descending
    assert [line[0] for line in table_rows(page)] == sorted((row["case"] for row in rows), reverse=True)
    page.driver.find_element(By.CSS_SELECTOR, "#bulk-table th[data-key='status'] button").click()
    shown_status = [line[2] for line in table_rows(page)]
    assert shown_status == sorted(shown_status, key=lambda value: -1 if value == "" else int(value))

    job_id = name.removeprefix("bulk-").removesuffix(".zip")
    auth = {"Authorization": f"Bearer {page_token(page)}"}
    assert requests.get(f"{mock_url}/bulk/{job_id}", headers=auth, timeout=10).status_code == 200
    by_id(page, "bulk-delete").click()
    page.wait().until(lambda _: "deleted from the server" in by_id(page, "bulk-state").text)
    assert requests.get(f"{mock_url}/bulk/{job_id}", headers=auth, timeout=10).status_code == 404


def tricky_set() -> dict[str, bytes]:
    """Names that exercise every naming rule, for comparing the page's check with the server's."""
    photo = fixture_path("hopper_a.jpg").read_bytes()
    return {
        "night/0003_image1.JPG": photo,  # flat inside a folder: case night/0003
        "night/0003_image2.Jpeg": photo,
        "vendors/acme/0001/image1.png": photo,  # nested case folder
        "vendors/acme/0001/unique_id.txt": "\ufeff  ref-ü-1 \n".encode(),
        "two/image1.jpg": photo,  # two files for one role
        "two/image1.png": photo,
        "gif_image1.gif": photo,  # unsupported extension
        "noext/image2": photo,  # no extension, and no image1
        "badid/image1.jpg": photo,  # unique_id not .txt
        "badid/unique_id.csv": b"x",
        "bigid/image1.jpg": photo,  # unique_id over 1,024 bytes
        "bigid/unique_id.txt": b"x" * 1025,
        "latin/image1.jpg": photo,  # unique_id not UTF-8
        "latin/unique_id.txt": "café".encode("latin-1"),
        "café/image1.webp": photo,  # a UTF-8 name
        "image1.jpg": photo,  # no case: ignored
        "docs/README.md": b"notes",
        "__MACOSX/two/._image1.jpg": b"junk",
        "two/.DS_Store": b"junk",
        "Thumbs.db": b"junk",
    }


def test_the_archive_check_agrees_with_the_server_on_every_rule(page: Browser, tmp_path: Path) -> None:
    archive = write(tmp_path / "tricky.zip", zip_bytes(tricky_set()))
    open_bulk(page, archive)
    report = check_report(page)
    with InputArchive(archive) as reference:
        assert report["refusal"] is None
        assert report["cases"] == [case.id for case in reference.cases]
        assert report["problems"] == [(p.case, p.entry, p.reason) for p in reference.problems]
        assert report["ignored"] == reference.discovery.ignored
        shown = page.driver.find_element(By.CSS_SELECTOR, "#zip-check .cases li[data-case='vendors/acme/0001']").text
        unique_id = next(case.unique_id for case in reference.cases if case.id == "vendors/acme/0001")
        assert shown.endswith(f", unique_id {unique_id}")
    assert len(report["problems"]) >= 6 and report["run_enabled"]


#: Built once (the bombs take a moment to compress).
HOSTILE = hostile_archives()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_archives_are_explained_before_run(page: Browser, tmp_path: Path, kind: str) -> None:
    data, phrase = HOSTILE[kind]
    archive = write(tmp_path / f"{kind}.zip", data)
    try:
        InputArchive(archive).close()
        raise AssertionError(f"{kind} should be refused by the server's check")
    except ArchiveRefused as error:
        refusal = str(error)
    open_bulk(page, archive)
    report = check_report(page)
    if kind in CONTENT_ONLY:
        assert report["refusal"] is None and report["run_enabled"]
        run_to_results(page)
        assert by_id(page, "bulk-state").text == f"Stopped: archive refused: {refusal}"
    else:
        assert report["refusal"] == f"The server will refuse this whole archive: {refusal}."
        assert phrase in report["refusal"]
        assert not report["run_enabled"]


SHOTS = [(1280, "desktop"), (360, "360")]


def test_screenshots_and_narrow_layout(page: Browser, mock_url: str, tmp_path: Path) -> None:
    """Desktop and 360 px, single and bulk, light and dark, saved to reports/screenshots/."""
    send(page, fixture_path("hopper_a.jpg"), fixture_path("hopper_b.jpg"), correlation_id="screenshot-1")
    by_id(page, "mode-bulk").click()
    archive = write(
        tmp_path / "cases.zip",
        zip_bytes({**clean_set(4), "lonely/image2.jpg": b"x" * 2000, "notes.txt": b"not a case"}),
    )
    by_id(page, "zip").send_keys(str(archive))
    page.wait().until(lambda _: by_id(page, "zip-check").is_displayed())
    run_to_results(page)
    assert by_id(page, "bulk-state").text == "Finished."
    for mode in ("single", "bulk"):
        by_id(page, f"mode-{mode}").click()
        for width, label in SHOTS:
            page.viewport(width)
            overflow, inner = page.driver.execute_script(
                "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
            )
            assert inner == width and overflow <= width, f"{mode} at {width} px scrolls sideways ({overflow} px)"
            for scheme in ("light", "dark"):
                page.color_scheme(scheme)
                background = page.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
                assert background == ("rgb(246, 247, 249)" if scheme == "light" else "rgb(17, 20, 24)")
                path = page.screenshot(f"playground-{mode}-{label}-{scheme}")
                assert path.stat().st_size > 10_000
    page.viewport(1280)
    page.color_scheme("light")


# Fault and Delay: Prefer fault=, fault-ms= and delay= on the single call ----------------------


def steer(browser: Browser, *, fault: str = "", fault_ms: str = "", delay: str = "", scenario: str = "") -> None:
    Select(by_id(browser, "scenario")).select_by_value(scenario)
    Select(by_id(browser, "fault")).select_by_value(fault)
    field = by_id(browser, "fault-ms")
    if field.is_displayed():
        field.clear()
        field.send_keys(fault_ms)
    field = by_id(browser, "delay")
    field.clear()
    field.send_keys(delay)


def send_steered(browser: Browser, **steering: str) -> dict[str, Any]:
    """One photo with these Fault/Delay/Scenario choices; the body stays text (it may be HTML or cut off)."""
    choose_file(browser, "image1", fixture_path("hopper_a.jpg"))
    choose_file(browser, "image2", None)
    steer(browser, **steering)
    before = result_count(browser)
    by_id(browser, "send").click()
    browser.wait(60).until(lambda _: result_count(browser) > before)
    shown = dict(browser.driver.execute_script(RENDERED))
    shown["body_label"] = by_id(browser, "res-body-label").text
    shown["ms"] = int(shown["timing"].removesuffix(" ms"))
    return shown


def test_http_faults_show_retry_after_and_a_gateway_page_as_text(page: Browser) -> None:
    scenario = next(iter(CONTRACT.examples))
    shown = send_steered(page, fault="503", scenario=scenario)
    assert shown["status"] == "HTTP 503" and shown["tone"] == "error"
    assert shown["summary"]["retry-after"] == f"{RETRY_AFTER_S} s: wait this long before trying again"
    assert shown["headers"]["retry-after"] == str(RETRY_AFTER_S)
    assert shown["summary"]["error"] == json.loads(shown["json"])["msg"] == "service unavailable (injected fault 503)"
    assert shown["summary"]["fault"] == f"{FAULT_WORDS[Fault.UNAVAILABLE][1]} (as asked with fault=503)"
    assert "advice" not in shown["summary"]  # not "report the 5xx": it was asked for
    assert f"-H 'Prefer: example={scenario}, fault=503'" in shown["curl"]

    shown = send_steered(page, fault="502")
    assert shown["status"] == "HTTP 502"
    assert shown["summary"]["error"] == "a gateway answered with an HTML page (text/html), not the API's JSON"
    assert shown["summary"]["page"] == "502 Bad Gateway gateway (facematch mock fault)"
    assert shown["json"].startswith("<html>") and "<center><h1>502 Bad Gateway</h1></center>" in shown["json"]
    assert shown["body_label"] == "Body: an HTML page, shown as text (not rendered)"
    rendered_elements = page.driver.execute_script(
        "return [...document.body.querySelectorAll('center, hr, h1')].filter("
        "(node) => node.tagName !== 'H1' || node.textContent.includes('Gateway')).length"
    )
    assert rendered_elements == 0
    assert "-H 'Prefer: fault=502'" in shown["curl"]
    page.screenshot("playground-single-fault-502")


#: Stands in for a server that never answers, to reach the page's own time limit quickly.
NEVER_ANSWERS = """
window.fetch = (url, options) => new Promise((resolve, reject) => {
  options.signal.addEventListener("abort", () => reject(new DOMException("stopped", "AbortError")));
});
"""


def test_socket_faults_are_told_in_plain_words(page: Browser) -> None:
    for fault, words in (("reset", Fault.RESET), ("empty", Fault.EMPTY)):
        shown = send_steered(page, fault=fault)
        assert shown["status"] == "no answer" and shown["tone"] == "error"
        assert shown["summary"]["network"] == f"{FAULT_WORDS[words][1]} (as asked with fault={fault})"
        assert "CORS" not in shown["summary"]["advice"] and "TypeError" in shown["summary"]["advice"]
        assert "error" not in shown["summary"]  # not the page's "could not read an answer" note

    shown = send_steered(page, fault="truncated")
    assert shown["status"] == "HTTP 200, cut off"
    assert shown["summary"]["network"] == f"{FAULT_WORDS[Fault.TRUNCATED][1]} (as asked with fault=truncated)"
    assert "announced by Content-Length" in shown["summary"]["error"]

    shown = send_steered(page, fault="hang", fault_ms="300")
    assert shown["status"] == "no answer" and shown["ms"] >= 300
    assert shown["summary"]["network"].startswith(FAULT_WORDS[Fault.HANG][1] + "; the connection was closed after ")
    assert shown["summary"]["network"].endswith("(as asked with fault=hang, fault-ms=300)")
    assert "-H 'Prefer: fault=hang, fault-ms=300' -m 4 " in shown["curl"]

    shown = send_steered(page, fault="slow", fault_ms="600")
    # The body goes out in pieces over fault-ms, the last one a piece's interval before its end.
    assert shown["status"] == "HTTP 200" and shown["ms"] >= 500
    assert shown["summary"]["verdict"].startswith("passed ")
    assert shown["summary"]["fault"].startswith(FAULT_WORDS[Fault.SLOW][1] + ": the headers came after ")
    assert json.loads(shown["json"])["overall_result"] == "True"

    page.driver.execute_script(NEVER_ANSWERS)
    shown = send_steered(page, fault="hang", fault_ms="0")
    assert shown["status"] == "no answer" and shown["ms"] >= 3000
    assert "; the page stopped waiting after " in shown["summary"]["network"]
    assert "AbortController" in shown["summary"]["advice"]


def test_a_delay_is_sent_and_the_time_shown_covers_it(page: Browser) -> None:
    shown = send_steered(page, delay=" 800 ")
    assert shown["status"] == "HTTP 200"
    assert shown["ms"] >= 800  # lower bounds only: the machine may be slow
    assert shown["summary"]["delay"].startswith("asked for delay=800; the whole call took ")
    assert "-H 'Prefer: delay=800'" in shown["curl"]


DELAYS = [
    *("0", "800", " 800 ", "100-400", "100 - 400", "tail:150-3000", " TAIL:150-3000", "tail: 5-6", "60000"),
    *("60001", "0-60001", "400-100", "tail:150", "-5", "5-", "abc", "", "1.5", "tail:", "5--6", "1-2-3"),
]
FAULT_MS = ["0", "500", " 7 ", "60000", "60001", "-1", "1.5", "abc", ""]
PARSERS = """
const done = arguments[arguments.length - 1];
import(new URL("static/steer.js", location.href).href).then((steer) => done({
  delays: arguments[0].map((text) => steer.parseDelay(text, arguments[2])),
  faultMs: arguments[1].map((text) => steer.parseFaultMs(text, arguments[2])),
}), (error) => done({ failed: String(error) }));
"""


def python_delay(text: str) -> str | None:
    try:
        return parse_delay(text).describe()
    except ValueError:
        return None


def python_fault_ms(text: str) -> int | None:
    try:
        return parse_duration_ms(text)
    except ValueError:
        return None


def test_bad_delay_and_fault_ms_are_refused_before_sending(page: Browser) -> None:
    """The page's checks agree with the server's parsers, and a bad value is never sent."""
    parsed = page.driver.execute_async_script(PARSERS, DELAYS, FAULT_MS, MAX_DELAY_MS)
    assert [entry.get("spec") for entry in parsed["delays"]] == [python_delay(text) for text in DELAYS]
    assert [entry.get("value") for entry in parsed["faultMs"]] == [python_fault_ms(text) for text in FAULT_MS]
    assert all(("error" in entry) != ("spec" in entry) for entry in parsed["delays"])

    choose_file(page, "image1", fixture_path("hopper_a.jpg"))
    sent = "return performance.getEntriesByType('resource').filter((e) => e.name.includes('facematch')).length"
    for fault, fault_ms, delay, field, phrase in (
        ("", "", "400-100", "delay", "LOW must not be over HIGH"),
        ("", "", "90000", "delay", f"at most {MAX_DELAY_MS} ms"),
        ("", "", "soon", "delay", "MS, LOW-HIGH or tail:MEDIAN-P99"),
        ("hang", "2s", "", "fault-ms", f"from 0 to {MAX_DELAY_MS}"),
    ):
        steer(page, fault=fault, fault_ms=fault_ms, delay=delay)
        before = page.driver.execute_script(sent)
        by_id(page, "send").click()
        note = by_id(page, f"{field}-error")
        assert note.is_displayed() and phrase in note.text
        assert by_id(page, field).get_attribute("aria-invalid") == "true"
        assert page.driver.switch_to.active_element.get_attribute("id") == field, (delay, fault_ms)
        assert by_id(page, "send-state").text.startswith("Not sent")
        assert page.driver.execute_script(sent) == before
        assert result_count(page) == 0
    steer(page, fault="hang", fault_ms="", delay="")
    assert not by_id(page, "fault-ms-error").is_displayed() and not by_id(page, "delay-error").is_displayed()
    assert by_id(page, "prefer-preview").text == "Prefer: fault=hang"
