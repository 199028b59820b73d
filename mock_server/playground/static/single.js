// Single call: the form, the photo pickers (drag and drop, previews), the scenario, fault and
// delay (one Prefer header), Send, and the answer: status, headers, timing, the body (pretty
// JSON, or any other body as text, never rendered), the human summary and a curl line.
// Photos live only in the file inputs and as blob: URLs for the previews; nothing is stored.

import { askedWords, preferValue, setupSteering } from "./steer.js";
import { cutOff, htmlPage, networkFailure, summarize, unreachable } from "./summary.js";

const $ = (id) => document.getElementById(id);

function shellQuote(value) {
  return `'${String(value).replaceAll("'", "'\\''")}'`;
}

export function curlLine({ url, correlationId, prefer, uniqueId, image1, image2, giveUpMs }) {
  const parts = ["curl", "-sS", "-X", "POST", shellQuote(url), "-H", '"Authorization: Bearer $TOKEN"'];
  if (correlationId) parts.push("-H", shellQuote(`X-Correlation-ID: ${correlationId}`));
  if (prefer) parts.push("-H", shellQuote(`Prefer: ${prefer}`));
  if (giveUpMs) parts.push("-m", String(Math.ceil(giveUpMs / 1000)));
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

/** Reads the whole body; when the connection breaks off, what came before it and the error. */
async function readBody(response) {
  const chunks = [];
  let size = 0;
  let error = null;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.length;
      }
    } catch (caught) {
      error = caught;
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, error };
}

/** The text of an HTML page, from an inert parsed document: nothing is rendered or run. */
function pageText(html) {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const body = parsed.body ? parsed.body.textContent.replace(/\s+/g, " ").trim() : "";
  return body || parsed.title.trim();
}

function isCrossOrigin(url) {
  try {
    return new URL(url, location.href).origin !== location.origin;
  } catch (ignored) {
    return false;
  }
}

/**
 * What to show for one call: the status line, the summary, the body as text and its label.
 * `got` is what happened: {response, bytes, readError, elapsed, headersAt, aborted}.
 */
function describe(got, steer, url) {
  const ms = (value) => Math.round(value);
  const { fault } = steer;
  const asked = askedWords(steer);
  const gaveUp = got.aborted ? ms(got.elapsed) : null;
  let shown;
  if (!got.response || (got.readError && got.aborted)) {
    const status = got.response ? `HTTP ${got.response.status}, cut off` : "no answer";
    if (fault && fault.socket_level) {
      const closed = !got.aborted && fault.default_ms !== null ? `; the connection was closed after ${ms(got.elapsed)} ms` : "";
      shown = { status, summary: networkFailure(fault.outcome + closed, asked, gaveUp), body: "", label: "Body" };
    } else if (got.aborted) {
      shown = { status, summary: networkFailure("no whole answer came", asked, gaveUp), body: "", label: "Body" };
    } else {
      shown = { status, summary: unreachable(url, isCrossOrigin(url)), body: "", label: "Body" };
    }
  } else {
    const { response } = got;
    const text = new TextDecoder().decode(got.bytes);
    const type = response.headers.get("content-type") || "";
    if (got.readError) {
      const summary = cutOff(response.status, got.bytes.length, response.headers.get("content-length"));
      if (fault && fault.socket_level) {
        summary.items.unshift({ key: "network", label: "Network failure", text: `${fault.outcome} (as asked with ${asked})` });
      }
      shown = {
        status: `HTTP ${response.status}, cut off`,
        summary,
        body: text,
        label: `Body, cut off after ${got.bytes.length} bytes (shown as text)`,
      };
    } else if (/^text\/html\b/i.test(type)) {
      shown = {
        status: `HTTP ${response.status}`,
        summary: htmlPage(response.status, pageText(text)),
        body: text,
        label: "Body: an HTML page, shown as text (not rendered)",
      };
    } else {
      let body = null;
      let pretty = text;
      try {
        body = JSON.parse(text);
        pretty = JSON.stringify(body, null, 2);
      } catch (error) {
        body = null;
      }
      shown = {
        status: `HTTP ${response.status}`,
        summary: summarize(response.status, body),
        body: pretty,
        label: body === null ? "Body (not JSON, shown as text)" : "JSON body",
      };
    }
    const items = shown.summary.items;
    const retryAfter = response.headers.get("retry-after");
    if (retryAfter !== null) {
      items.splice(1, 0, { key: "retry-after", label: "Retry-After", text: `${retryAfter} s: wait this long before trying again` });
    } else if (response.status === 429 || response.status === 503) {
      const why = isCrossOrigin(url) ? "not readable (the server does not expose it by CORS)" : "not sent";
      items.splice(1, 0, { key: "retry-after", label: "Retry-After", text: why });
    }
    if (fault && !got.readError) {
      let note = `asked for ${asked}, but the answer came without it (only the mock reads Prefer)`;
      if (!fault.socket_level && String(response.status) === fault.name) {
        note = `${fault.outcome} (as asked with ${asked})`;
        if (type.includes("json")) shown.summary.items = items.filter((item) => item.key !== "advice");
      } else if (fault.socket_level && fault.default_ms !== null) {
        note = `${fault.outcome}: the headers came after ${ms(got.headersAt)} ms, the whole answer after ${ms(got.elapsed)} ms (as asked with ${asked})`;
      }
      shown.summary.items.push({ key: "fault", label: "Fault", text: note });
    }
  }
  if (steer.delay) {
    shown.summary.items.push({
      key: "delay",
      label: "Delay",
      text: `asked for delay=${steer.delay.spec}; the whole call took ${ms(got.elapsed)} ms`,
    });
  }
  return shown;
}

export function setupSingle(config, getToken, defaultBase) {
  fillPaths(config);
  fillScenarios(config);
  setupPicker("image1");
  setupPicker("image2");
  $("base-url").value = defaultBase;
  const steering = setupSteering(config);

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
    const steer = steering.read();
    if (!steer.ok) {
      $("send-state").textContent = "Not sent: correct the value marked in red first.";
      $(steer.field).focus();
      return;
    }
    const prefer = preferValue({ scenario, ...steer });

    const form = new FormData();
    if (image1) form.append("image1", image1, image1.name);
    if (image2) form.append("image2", image2, image2.name);
    if (uniqueId) form.append("unique_id", uniqueId);
    const headers = new Headers();
    const token = getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (correlationId) headers.set(config.correlation_header, correlationId);
    if (prefer) headers.set("Prefer", prefer);

    sending = true;
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    $("send").setAttribute("aria-disabled", "true");
    const limit = steer.giveUpMs ? ` The page gives up after ${steer.giveUpMs} ms.` : "";
    $("send-state").textContent = (image1 ? "Sending…" : "Sending without image1 (the server will refuse it)…") + limit;
    // A timed fault (hang, slow) gets a time limit: its duration, the longest delay, a margin.
    const controller = new AbortController();
    const timer = steer.giveUpMs ? setTimeout(() => controller.abort(), steer.giveUpMs) : null;
    const started = performance.now();
    const got = { response: null, bytes: new Uint8Array(), readError: null, headersAt: null, elapsed: 0, aborted: false };
    try {
      got.response = await fetch(url, {
        method: "POST", body: form, headers, credentials: "omit", cache: "no-store", signal: controller.signal,
      });
      got.headersAt = performance.now() - started;
      const read = await readBody(got.response);
      got.bytes = read.bytes;
      got.readError = read.error;
    } catch (error) {
      got.response = null;
    }
    if (timer !== null) clearTimeout(timer);
    got.elapsed = performance.now() - started;
    got.aborted = controller.signal.aborted;
    sending = false;
    $("send").removeAttribute("aria-disabled");
    $("send-state").textContent = "";

    const shown = describe(got, steer, url);
    $("res-status").textContent = shown.status;
    $("res-status").dataset.tone = shown.summary.tone;
    $("res-timing").textContent = `${got.elapsed.toFixed(0)} ms`;
    $("res-headers-at").textContent = got.response ? `· headers after ${got.headersAt.toFixed(0)} ms` : "";
    const answerHeaders = got.response ? [...got.response.headers] : [];
    const echoed = answerHeaders.find(([name]) => name.toLowerCase() === config.correlation_header.toLowerCase());
    $("res-cid").textContent = echoed
      ? echoed[1]
      : got.response ? "not readable (the server does not expose it by CORS)" : "none (no answer)";
    renderSummary(shown.summary);
    renderHeaders(answerHeaders);
    $("res-body-label").textContent = shown.label;
    $("res-json").textContent = shown.body;
    $("res-curl").value = curlLine({
      url,
      correlationId,
      prefer,
      uniqueId,
      image1: image1 && image1.name,
      image2: image2 && image2.name,
      giveUpMs: steer.giveUpMs,
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
