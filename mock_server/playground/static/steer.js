// Fault and Delay of the single call (a mock extension, sent in the Prefer header).
// The fault names, which of them take a duration, their default durations and every bound
// come from config.json's "steering", which the server builds from mock_server/faults.py;
// nothing about a particular fault is written here. The delay and fault-ms checks follow
// the server's (faults.parse_delay, faults.parse_duration_ms) so a bad value is refused in
// the page, with a sentence, before anything is sent.

const $ = (id) => document.getElementById(id);

/** How long past a timed fault's duration (and the delay) the page waits before it gives up. */
export const GIVE_UP_MARGIN_MS = 3000;

const NUMBER = /^\s*\d+\s*$/;

/**
 * A delay as the server reads it: MS, LOW-HIGH or tail:MEDIAN-P99, in milliseconds, each
 * at most maxMs, LOW <= HIGH. Returns {spec, kind, low, high} (spec is the normalised text
 * that is sent) or {error}.
 */
export function parseDelay(text, maxMs) {
  const forms = "MS, LOW-HIGH or tail:MEDIAN-P99 in whole milliseconds (e.g. 800, 100-400, tail:150-3000)";
  let raw = String(text).trim().toLowerCase();
  let kind = "uniform";
  if (raw.startsWith("tail:")) {
    kind = "tail";
    raw = raw.slice("tail:".length);
  }
  const dash = raw.indexOf("-");
  const lowText = dash < 0 ? raw : raw.slice(0, dash);
  const highText = dash < 0 ? lowText : raw.slice(dash + 1);
  if (!NUMBER.test(lowText) || !NUMBER.test(highText)) {
    return { error: `A delay is ${forms}, not "${text}".` };
  }
  const low = Number(lowText.trim());
  const high = Number(highText.trim());
  if (high < low) return { error: `In LOW-HIGH, LOW must not be over HIGH ("${text}").` };
  if (high > maxMs) return { error: `A delay may be at most ${maxMs} ms ("${text}").` };
  if (kind === "tail" && dash < 0) {
    return { error: `A long-tail delay needs a median and a 99th percentile: tail:MEDIAN-P99 ("${text}").` };
  }
  if (kind === "uniform" && dash < 0) return { spec: String(low), kind: "fixed", low, high };
  return { spec: `${kind === "tail" ? "tail:" : ""}${low}-${high}`, kind, low, high };
}

/** A fault's duration (fault-ms): a whole number of milliseconds from 0 to maxMs. */
export function parseFaultMs(text, maxMs) {
  const raw = String(text).trim();
  if (!/^\d+$/.test(raw) || Number(raw) > maxMs) {
    return { error: `fault-ms is a whole number of milliseconds from 0 to ${maxMs}, not "${text}".` };
  }
  return { value: Number(raw) };
}

/** The one Prefer header of a call: example, fault, fault-ms and delay, comma-separated. */
export function preferValue({ scenario, fault, faultMs, delay }) {
  const parts = [];
  if (scenario) parts.push(`example=${scenario}`);
  if (fault) parts.push(`fault=${fault.name}`);
  if (fault && faultMs !== null && faultMs !== undefined) parts.push(`fault-ms=${faultMs}`);
  if (delay) parts.push(`delay=${delay.spec}`);
  return parts.join(", ");
}

/** "fault=hang, fault-ms=500": the fault as the request asked for it. */
export function askedWords(steer) {
  if (!steer.fault) return "";
  return steer.faultMs === null ? `fault=${steer.fault.name}` : `fault=${steer.fault.name}, fault-ms=${steer.faultMs}`;
}

function showError(fieldId, message) {
  const field = $(fieldId);
  const note = $(`${fieldId}-error`);
  note.textContent = message || "";
  note.hidden = !message;
  if (message) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

export function setupSteering(config) {
  const rules = config.steering;
  const byName = new Map(rules.faults.map((fault) => [fault.name, fault]));
  const select = $("fault");
  const groups = [
    ["An HTTP answer", rules.faults.filter((fault) => !fault.socket_level)],
    ["On the connection", rules.faults.filter((fault) => fault.socket_level)],
  ];
  for (const [label, faults] of groups) {
    const group = document.createElement("optgroup");
    group.label = label;
    for (const fault of faults) {
      const option = document.createElement("option");
      option.value = fault.name;
      option.textContent = fault.label;
      group.append(option);
    }
    select.append(group);
  }
  $("delay-hint").textContent =
    `In milliseconds: ${rules.delay_forms.join(", ")} (e.g. 800, 100-400, tail:150-3000), each at most ${rules.max_ms}. ` +
    "Sent as Prefer: delay=…; leave empty for none.";
  const faultMsBox = $("fault-ms-box");
  const faultMs = $("fault-ms");

  function chosenFault() {
    return byName.get(select.value) || null;
  }

  function onFault() {
    const fault = chosenFault();
    const timed = Boolean(fault && fault.default_ms !== null);
    faultMsBox.hidden = !timed;
    if (timed) {
      faultMs.placeholder = String(fault.default_ms);
      $("fault-ms-hint").textContent =
        `How long ${fault.name} lasts, 0 to ${rules.max_ms} ms; empty for the server's ${fault.default_ms} ms.`;
    } else {
      showError("fault-ms", "");
    }
    preview();
  }

  /**
   * The controls' values, checked: {ok: false, field} or the steering. With `show`, a problem
   * is marked at its field (and a fixed one unmarked); without, the marks stay as they are, so
   * the layout never moves while a click is on its way to Send.
   */
  function read(show = true) {
    const mark = show ? showError : () => {};
    const fault = chosenFault();
    let ms = null;
    let problem = null;
    if (fault && fault.default_ms !== null && faultMs.value.trim() !== "") {
      const parsed = parseFaultMs(faultMs.value, rules.max_ms);
      mark("fault-ms", parsed.error);
      if (parsed.error) problem = "fault-ms";
      else ms = parsed.value;
    } else {
      mark("fault-ms", "");
    }
    let delay = null;
    const delayText = $("delay").value;
    if (delayText.trim() !== "") {
      const parsed = parseDelay(delayText, rules.max_ms);
      mark("delay", parsed.error);
      if (parsed.error) problem = problem || "delay";
      else delay = parsed;
    } else {
      mark("delay", "");
    }
    if (problem) return { ok: false, field: problem };
    const timed = Boolean(fault && fault.default_ms !== null);
    const effectiveMs = timed ? (ms === null ? fault.default_ms : ms) : 0;
    const delayBound = delay ? (delay.kind === "tail" ? rules.max_ms : delay.high) : 0;
    return {
      ok: true,
      fault,
      faultMs: ms,
      effectiveMs,
      delay,
      // Only a timed fault gets a time limit: its duration, the longest delay it may meet, a margin.
      giveUpMs: timed ? effectiveMs + delayBound + GIVE_UP_MARGIN_MS : null,
    };
  }

  /** The Prefer line under the controls; `show` also re-marks the fields (see read). */
  function preview(show = false) {
    const steer = read(show);
    const text = steer.ok ? preferValue({ scenario: $("scenario").value, ...steer }) : "";
    $("prefer-preview").textContent = steer.ok
      ? (text ? `Prefer: ${text}` : "No Prefer header.")
      : `Prefer: not sent until the ${steer.field} value is corrected.`;
  }

  select.addEventListener("change", onFault);
  $("scenario").addEventListener("change", () => preview());
  for (const id of ["fault-ms", "delay"]) {
    const field = $(id);
    // A marked field is re-checked as it changes, so the mark goes once it is right; an
    // unmarked one is checked only on Send.
    const recheck = () => preview(field.getAttribute("aria-invalid") === "true");
    field.addEventListener("change", recheck);
    field.addEventListener("input", recheck);
  }
  onFault();
  return { read, byName };
}
