// The Playground's entry point: read config.json, set up the token field, the two modes
// (single call and bulk) and hand each mode a way to read the current token.
// The token lives in this page's memory; only when "remember" is ticked is it copied to
// sessionStorage (this tab only, gone when the tab closes). Images are never stored.

import { setupBulk } from "./bulk.js";
import { setupSingle } from "./single.js";

const $ = (id) => document.getElementById(id);
const REMEMBER_KEY = "facematch-playground-token";

function setupToken(config) {
  const field = $("token");
  const remember = $("token-remember");
  $("token-hint").textContent = config.token.hint;
  let stored = null;
  try {
    stored = sessionStorage.getItem(REMEMBER_KEY);
  } catch (error) {
    remember.disabled = true; // storage blocked by the browser: memory only
  }
  if (stored) {
    field.value = stored;
    remember.checked = true;
  } else if (config.token.dev_token) {
    field.value = config.token.dev_token;
  }
  function persist() {
    try {
      if (remember.checked) sessionStorage.setItem(REMEMBER_KEY, field.value);
      else sessionStorage.removeItem(REMEMBER_KEY);
    } catch (error) {
      remember.checked = false;
    }
  }
  remember.addEventListener("change", persist);
  field.addEventListener("input", () => { if (remember.checked) persist(); });
  const show = $("token-show");
  show.addEventListener("click", () => {
    const visible = field.type === "password";
    field.type = visible ? "text" : "password";
    show.setAttribute("aria-pressed", String(visible));
    show.textContent = visible ? "Hide" : "Show";
  });
  return () => field.value.trim();
}

function setupModes() {
  const buttons = [$("mode-single"), $("mode-bulk")];
  function choose(chosen) {
    for (const button of buttons) {
      const on = button === chosen;
      button.setAttribute("aria-pressed", String(on));
      $(button.getAttribute("aria-controls")).hidden = !on;
    }
    document.body.dataset.mode = chosen.id.replace("mode-", "");
  }
  for (const button of buttons) button.addEventListener("click", () => choose(button));
  if (location.hash === "#bulk") choose($("mode-bulk"));
}

async function main() {
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch (error) {
    $("server-line").textContent = `Could not read the server's configuration (${error.message}); reload the page.`;
    return;
  }
  const serverBase = new URL(`${config.script_root}/`, location.origin);
  $("server-line").textContent =
    `${config.mode} mode at ${serverBase.href.replace(/\/$/, "")} · auth ${config.token.auth}`;
  $("version").textContent = config.version;
  const getToken = setupToken(config);
  setupModes();
  setupSingle(config, getToken, serverBase.href.replace(/\/$/, ""));
  setupBulk(config, getToken, serverBase);
  document.body.dataset.ready = "true";
}

main();
