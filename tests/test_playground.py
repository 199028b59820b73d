"""The Playground's server side without a socket: redirects, security headers, the config
the page reads (token policy, examples, bulk rules), and the page's files themselves (no
inline script or style, every referenced asset shipped as package data)."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from facematch_bulk import archive as bulk_rules
from facematch_contract.tokens import mint_token
from mock_server.app import create_app
from mock_server.auth import Authenticator
from mock_server.config import Settings
from mock_server.errors import ApiError
from mock_server.faults import MAX_DELAY_MS, Fault, fault_names
from mock_server.playground.blueprint import FAULT_WORDS, STATIC_DIR
from mock_server.spec import Contract
from mock_server.steering import default_duration_ms

from .live import ROOT

REQUIRED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' blob: data:",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
}


def client(**settings: object) -> FlaskClient:
    return create_app(Settings(**settings)).test_client()  # type: ignore[arg-type]  # each test passes valid fields


def csp(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value.strip()
    return directives


def assert_secured(response) -> None:
    policy = csp(response.headers["Content-Security-Policy"])
    for name, value in REQUIRED_CSP.items():
        assert policy[name] == value, name
    assert policy["connect-src"].split()[0] == "'self'"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/playground"])
def test_root_and_bare_path_redirect_to_the_page(path: str) -> None:
    response = client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/playground/"
    assert_secured(response)


def test_redirects_keep_the_mount_prefix() -> None:
    app = client(prefix="/gw")
    assert app.get("/gw/").headers["Location"] == "/gw/playground/"
    page = app.get("/gw/playground/")
    assert page.status_code == 200 and b"static/app.js" in page.data
    assert app.get("/gw/playground/config.json").json["script_root"] == "/gw"


def shipped_files() -> list[Path]:
    return sorted(path for path in STATIC_DIR.iterdir() if path.is_file())


def test_page_and_every_asset_are_served_with_the_headers() -> None:
    app = client()
    page = app.get("/playground/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_secured(page)
    types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
    for path in shipped_files():
        response = app.get(f"/playground/static/{path.name}")
        assert response.status_code == 200, path.name
        assert response.data == path.read_bytes()
        assert response.mimetype == types[path.suffix], path.name
        assert_secured(response)


@pytest.mark.parametrize(
    "path",
    ["/playground/static/missing.js", "/playground/static/../blueprint.py", "/playground/static/%2e%2e/blueprint.py"],
)
def test_anything_else_is_a_json_404(path: str) -> None:
    response = client().get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json" and "msg" in response.json
    assert_secured(response)


def test_strict_mode_leaves_the_page_alone() -> None:
    app = client(strict=True)
    for path in ["/playground/", "/playground/config.json", "/playground/static/app.js"]:
        response = app.get(path)
        assert response.status_code == 200, path
        assert "X-Contract-Violation" not in response.headers, path


def test_config_lists_the_contracts_examples_and_paths() -> None:
    config = client().get("/playground/config.json")
    assert config.headers["Cache-Control"] == "no-store"
    assert_secured(config)
    body = config.json
    contract = Contract(Settings().spec_path)
    assert body["examples"] == [
        {"name": ex.name, "status": ex.status, "summary": ex.summary} for ex in contract.examples.values()
    ]
    assert body["operation_paths"] == ["/advanced_facematch", "/sumi/v1/advanced_facematch"]
    assert body["correlation_header"] == "X-Correlation-ID"
    assert body["mode"] == "mock" and body["script_root"] == ""


def test_config_carries_the_bulk_rules_of_the_archive_reader() -> None:
    rules = client().get("/playground/config.json").json["bulk"]
    limits = bulk_rules.ArchiveLimits()
    assert rules["submit_path"] == "/bulk"
    assert rules["image_extensions"] == list(bulk_rules.IMAGE_EXTENSIONS)
    assert rules["archive_extensions"] == list(bulk_rules.ARCHIVE_EXTENSIONS)
    assert rules["junk_names"] == list(bulk_rules.JUNK_NAMES)
    assert rules["max_entries"] == limits.max_entries and rules["max_entry_bytes"] == limits.max_entry_bytes
    assert rules["max_unique_id_bytes"] == bulk_rules.MAX_UNIQUE_ID_BYTES
    # The JavaScript patterns are the Python ones with JavaScript's named-group syntax.
    for key, python in (("flat_pattern", bulk_rules.FLAT_NAME), ("folder_pattern", bulk_rules.FOLDER_NAME)):
        assert "(?P<" not in rules[key]
        back = re.compile(rules[key].replace("(?<", "(?P<"), re.IGNORECASE)
        assert back.pattern == python.pattern


def test_config_carries_the_faults_and_delay_bounds_of_the_mock() -> None:
    """The Fault picker, fault-ms and the delay check follow mock_server/faults.py (one home)."""
    steering = client().get("/playground/config.json").json["steering"]
    assert [entry["name"] for entry in steering["faults"]] == fault_names()
    assert set(FAULT_WORDS) == set(Fault)
    for entry in steering["faults"]:
        fault = Fault(entry["name"])
        assert entry["socket_level"] == fault.socket_level, fault
        assert entry["default_ms"] == (default_duration_ms(fault) or None), fault
        assert [entry["label"], entry["outcome"]] == list(FAULT_WORDS[fault])
    assert steering["max_ms"] == MAX_DELAY_MS
    assert steering["delay_forms"] == ["MS", "LOW-HIGH", "tail:MEDIAN-P99"]


def test_the_scripts_do_not_name_a_fault() -> None:
    """The fault names come from config.json only, never written in the page's scripts."""
    for path in STATIC_DIR.glob("*.js"):
        text = path.read_text()
        for name in fault_names():
            for quoted in (f'"{name}"', f"'{name}'", f"`{name}`"):
                assert quoted not in text, f"{path.name} names the fault {name}"


def verifies(settings: Settings, token: str) -> bool:
    try:
        Authenticator(settings.auth, settings.jwt_secret).verify(f"Bearer {token}")
    except ApiError:
        return False
    return True


def test_a_dev_token_is_given_only_with_the_development_secret() -> None:
    settings = Settings()
    token = client().get("/playground/config.json").json["token"]
    assert token["auth"] == "jwt" and token["dev_token"]
    assert verifies(settings, token["dev_token"])


def test_no_token_with_a_configured_secret_but_a_note_on_what_to_paste() -> None:
    token = client(jwt_secret="a-configured-secret-at-least-32-bytes-long").get("/playground/config.json").json["token"]
    assert token["dev_token"] is None
    assert "facematch token --jwt-secret" in token["hint"]
    secret = "a-configured-secret-at-least-32-bytes-long"
    assert verifies(Settings(jwt_secret=secret), mint_token(secret))


def test_any_token_mode_fills_one_in() -> None:
    token = client(auth="any").get("/playground/config.json").json["token"]
    assert token["auth"] == "any" and token["dev_token"]
    assert "any non-empty" in token["hint"]
    assert verifies(Settings(auth="any"), token["dev_token"])


class _Markup(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.assets: list[str] = []
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.controls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.problems.append("<script> without src")
        for name in ("src", "href"):
            value = values.get(name)
            if value and value.startswith("static/"):
                self.assets.append(value.removeprefix("static/"))
            elif value and "//" in value:
                self.problems.append(f"external {name}: {value}")
        if values.get("id"):
            self.ids.append(values["id"] or "")
        if tag == "label" and values.get("for"):
            self.labels.append(values["for"] or "")
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append(values.get("id") or f"<{tag} without id>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script text")


def test_the_page_has_no_inline_code_and_labels_every_control() -> None:
    markup = _Markup()
    markup.feed((STATIC_DIR / "index.html").read_text())
    assert markup.problems == []
    assert sorted(markup.assets) == ["app.js", "playground.css"]
    assert len(markup.ids) == len(set(markup.ids)), "duplicate ids"
    unlabelled = [control for control in markup.controls if control not in markup.labels]
    assert unlabelled == []


def test_every_module_import_is_a_shipped_file() -> None:
    shipped = {path.name for path in shipped_files()}
    for path in STATIC_DIR.glob("*.js"):
        for target in re.findall(r'from "\./([^"]+)"', path.read_text()):
            assert target in shipped, f"{path.name} imports {target}"
        text = path.read_text()
        assert "eval(" not in text and "new Function" not in text and "innerHTML" not in text, path.name


def test_the_static_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "mock_server.playground" in config["packages"]
    patterns = config["package-data"]["mock_server"]
    for path in shipped_files():
        relative = path.relative_to(ROOT / "mock_server").as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
