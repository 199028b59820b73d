// Single call: the form, the photo pickers (drag and drop, previews), Send, and the answer:
// status, headers, timing, pretty JSON, the human summary and a curl line.
// Photos live only in the file inputs and as blob: URLs for the previews; nothing is stored.

import { summarize, unreachable } from "./summary.js";

const $ = (id) => document.getElementById(id);

function shellQuote(value) {
  return `'${String(value).replaceAll("'", "'\\''")}'`;
}

export function curlLine({ url, correlationId, scenario, uniqueId, image1, image2 }) {
  const parts = ["curl", "-sS", "-X", "POST", shellQuote(url), "-H", '"Authorization: Bearer $TOKEN"'];
  if (correlationId) parts.push("-H", shellQuote(`X-Correlation-ID: ${correlationId}`));
  if (scenario) parts.push("-H", shellQuote(`Prefer: example=${scenario}`));
  if (image1) parts.push("-F", shellQuote(`image1=@${image1}`));
  if (image2) parts.push("-F", shellQuote(`image2=@${image2}`));
  if (uniqueId) parts.push("-F", shellQuote(`unique_id=${uniqueId}`));
  return parts.join(" ");
}

function fillPaths(config) {
  const select = $("op-path");
  for (const path of config.operation_paths) {
    const option = document.createElement("option");
    option.value = path;
    option.textContent = path;
    select.append(option);
  }
}

function fillScenarios(config) {
  const select = $("scenario");
  const groups = new Map();
  for (const example of config.examples) {
    if (!groups.has(example.status)) {
      const group = document.createElement("optgroup");
      group.label = `HTTP ${example.status}`;
      groups.set(example.status, group);
      select.append(group);
    }
    const option = document.createElement("option");
    option.value = example.name;
    option.textContent = `${example.name}: ${example.summary}`;
    groups.get(example.status).append(option);
  }
}

function setupPicker(role) {
  const input = $(role);
  const zone = $(`drop-${role}`);
  const figure = zone.querySelector("figure");
  const img = $(`preview-${role}`);
  const caption = $(`caption-${role}`);
  const clear = role === "image2" ? $("clear-image2") : null;
  let url = null;

  function show() {
    if (url) URL.revokeObjectURL(url);
    url = null;
    const file = input.files[0];
    if (clear) clear.hidden = !file;
    if (!file) {
      figure.hidden = true;
      img.removeAttribute("src");
      return;
    }
    url = URL.createObjectURL(file);
    caption.textContent = `${file.name} · ${(file.size / 1024).toFixed(1)} KB`;
    img.onload = () => {
      caption.textContent = `${file.name} · ${(file.size / 1024).toFixed(1)} KB · ${img.naturalWidth}×${img.naturalHeight} as the server sees it (EXIF orientation applied)`;
    };
    img.onerror = () => {
      caption.textContent = `${file.name} · ${(file.size / 1024).toFixed(1)} KB · the browser cannot show this file as an image`;
    };
    img.src = url;
    figure.hidden = false;
  }

  input.addEventListener("change", show);
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      const transfer = new DataTransfer();
      transfer.items.add(event.dataTransfer.files[0]);
      input.files = transfer.files;
      show();
    }
  });
  if (clear) {
    clear.addEventListener("click", () => {
      input.value = "";
      show();
      input.focus();
    });
  }
}

function renderSummary(summary) {
  const box = $("res-summary");
  box.replaceChildren();
  box.dataset.tone = summary.tone;
  const list = document.createElement("dl");
  for (const item of summary.items) {
    const term = document.createElement("dt");
    term.textContent = item.label;
    const value = document.createElement("dd");
    value.textContent = item.text;
    value.dataset.key = item.key;
    list.append(term, value);
  }
  box.append(list);
}

function renderHeaders(headers) {
  const list = $("res-headers");
  list.replaceChildren();
  for (const [name, value] of headers) {
    const term = document.createElement("dt");
    term.textContent = name;
    const detail = document.createElement("dd");
    detail.textContent = value;
    if (name.toLowerCase() === "x-correlation-id") detail.id = "res-correlation";
    list.append(term, detail);
  }
}

export function setupSingle(config, getToken, defaultBase) {
  fillPaths(config);
  fillScenarios(config);
  setupPicker("image1");
  setupPicker("image2");
  $("base-url").value = defaultBase;

  let sending = false;
  $("single-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const image1 = $("image1").files[0];
    const image2 = $("image2").files[0];
    const base = $("base-url").value.trim().replace(/\/+$/, "");
    const url = base + $("op-path").value;
    const correlationId = $("correlation-id").value.trim();
    const scenario = $("scenario").value;
    const uniqueId = $("unique-id").value;

    const form = new FormData();
    if (image1) form.append("image1", image1, image1.name);
    if (image2) form.append("image2", image2, image2.name);
    if (uniqueId) form.append("unique_id", uniqueId);
    const headers = new Headers();
    const token = getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (correlationId) headers.set(config.correlation_header, correlationId);
    if (scenario) headers.set("Prefer", `example=${scenario}`);

    sending = true;
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    $("send").setAttribute("aria-disabled", "true");
    $("send-state").textContent = image1 ? "Sending…" : "Sending without image1 (the server will refuse it)…";
    const started = performance.now();
    let summary;
    let status = "";
    let bodyText = "";
    let answerHeaders = [];
    try {
      const response = await fetch(url, { method: "POST", body: form, headers, credentials: "omit", cache: "no-store" });
      bodyText = await response.text();
      status = response.status;
      answerHeaders = [...response.headers];
      let body = null;
      try {
        body = JSON.parse(bodyText);
        bodyText = JSON.stringify(body, null, 2);
      } catch (error) {
        body = null;
      }
      summary = summarize(response.status, body);
    } catch (error) {
      let crossOrigin = true;
      try {
        crossOrigin = new URL(url, location.href).origin !== location.origin;
      } catch (ignored) {
        crossOrigin = false;
      }
      summary = unreachable(url, crossOrigin);
      status = "no answer";
    }
    const elapsed = performance.now() - started;
    sending = false;
    $("send").removeAttribute("aria-disabled");
    $("send-state").textContent = "";

    $("res-status").textContent = typeof status === "number" ? `HTTP ${status}` : status;
    $("res-status").dataset.tone = summary.tone;
    $("res-timing").textContent = `${elapsed.toFixed(0)} ms`;
    const echoed = answerHeaders.find(([name]) => name.toLowerCase() === config.correlation_header.toLowerCase());
    $("res-cid").textContent = echoed ? echoed[1] : "not readable (the server does not expose it by CORS)";
    renderSummary(summary);
    renderHeaders(answerHeaders);
    $("res-json").textContent = bodyText;
    $("res-curl").value = curlLine({
      url, correlationId, scenario, uniqueId, image1: image1 && image1.name, image2: image2 && image2.name,
    });
    const result = $("single-result");
    result.hidden = false;
    result.dataset.count = String(Number(result.dataset.count || "0") + 1);
  });

  $("copy-curl").addEventListener("click", async () => {
    const field = $("res-curl");
    try {
      await navigator.clipboard.writeText(field.value);
      $("copy-curl").textContent = "Copied";
    } catch (error) {
      field.select();
      $("copy-curl").textContent = "Select and copy";
    }
    setTimeout(() => { $("copy-curl").textContent = "Copy"; }, 2000);
  });
}
