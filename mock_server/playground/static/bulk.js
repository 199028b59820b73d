// Bulk: check a ZIP in the page, run it as one of this server's bulk jobs, follow its
// progress, then fetch the results archive once. The results table is read from that
// archive's results.csv, so the table and the download are the same bytes.

import { checkArchive, extensionList } from "./zipcheck.js";
import { readEntries, readEntry } from "./zipread.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 250;
const SHOWN_CASES = 200;
// results.csv columns shown in the table (the download has all of them).
const TABLE_COLUMNS = [
  ["case", "Case"],
  ["unique_id", "unique_id"],
  ["status", "Status"],
  ["image1.result", "Photo 1"],
  ["image1.confidence", "Score 1"],
  ["image2.result", "Photo 2"],
  ["image2.confidence", "Score 2"],
  ["image1_image2_facematch.result", "Match"],
  ["image1_image2_facematch.confidence", "Match conf."],
  ["overall_result", "Overall"],
  ["overall_confidence", "Overall conf."],
  ["error", "Error"],
];

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of strings. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(field); field = ""; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += ch;
  }
  if (field !== "" || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function humanBytes(bytes) {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(0)} GiB`;
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

function fillRules(rules) {
  $("rule-extensions").textContent = extensionList(rules.image_extensions);
  $("rule-uid-bytes").textContent = String(rules.max_unique_id_bytes);
  $("rule-junk").textContent = [...rules.junk_parts.map((part) => `${part}/`), "._*", ...rules.junk_names].join(", ");
  $("rule-entries").textContent = String(rules.max_entries);
  $("rule-size").textContent = `${humanBytes(rules.max_archive_bytes)} of ZIP or ${humanBytes(rules.max_entry_bytes)} per file once expanded`;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function renderCheck(report) {
  const box = $("zip-check");
  box.replaceChildren();
  box.hidden = false;
  if (report.refusal) {
    box.dataset.tone = "error";
    box.append(element("p", `The server will refuse this whole archive: ${report.refusal}.`, "refusal"));
    return;
  }
  box.dataset.tone = report.problems.length ? "fail" : "ok";
  const notSent = new Set(report.problems.map((problem) => problem.case)).size;
  box.append(element("p",
    `${report.cases.length} case${report.cases.length === 1 ? "" : "s"} will be sent, ` +
      `${notSent} cannot be sent, ${report.ignored.length} file${report.ignored.length === 1 ? "" : "s"} ignored.`,
    "check-counts"));
  if (report.problems.length) {
    box.append(element("h4", "Cases that cannot be sent (listed in errors.csv)"));
    const list = element("ul", undefined, "problems");
    for (const problem of report.problems) {
      const item = element("li");
      item.dataset.case = problem.case;
      item.dataset.entry = problem.entry;
      item.append(element("strong", problem.case), document.createTextNode(problem.entry ? ` (${problem.entry})` : ""),
        document.createTextNode(`: ${problem.reason}`));
      item.dataset.reason = problem.reason;
      list.append(item);
    }
    box.append(list);
  }
  if (report.cases.length) {
    box.append(element("h4", "Cases"));
    const list = element("ul", undefined, "cases");
    for (const found of report.cases.slice(0, SHOWN_CASES)) {
      const item = element("li");
      item.dataset.case = found.id;
      const photos = found.image2 ? `${found.image1} + ${found.image2}` : `${found.image1} (one photo)`;
      item.append(element("strong", found.id), document.createTextNode(`: ${photos}`));
      if (found.uniqueId) item.append(document.createTextNode(`, unique_id ${found.uniqueId}`));
      list.append(item);
    }
    box.append(list);
    if (report.cases.length > SHOWN_CASES) box.append(element("p", `… and ${report.cases.length - SHOWN_CASES} more.`, "muted"));
  }
  if (report.ignored.length) {
    box.append(element("h4", "Ignored files (they belong to no case)"));
    const list = element("ul", undefined, "ignored");
    for (const name of report.ignored) list.append(element("li", name));
    box.append(list);
  }
}

function errorText(body, fallback) {
  if (body && typeof body === "object") return body.msg || body.message || fallback;
  return fallback;
}

async function jsonOrNull(response) {
  try { return await response.json(); } catch (error) { return null; }
}

class ResultsTable {
  constructor() {
    this.rows = [];
    this.header = [];
    this.sortKey = "case";
    this.descending = false;
    $("filter-status").addEventListener("change", () => this.render());
    $("filter-overall").addEventListener("change", () => this.render());
  }

  load(csvText) {
    const [header, ...rows] = parseCsv(csvText);
    this.header = header;
    this.rows = rows.map((cells) => Object.fromEntries(header.map((name, index) => [name, cells[index] ?? ""])));
    this.fillFilter("filter-status", this.rows.map((row) => row.status), "not sent");
    this.fillFilter("filter-overall", this.rows.map((row) => row.overall_result), "none");
    this.renderHead();
    this.render();
  }

  fillFilter(id, values, emptyLabel) {
    const select = $(id);
    select.replaceChildren(new Option("All", ""));
    for (const value of [...new Set(values)].sort()) {
      const option = new Option(value === "" ? emptyLabel : value, value === "" ? "-" : value);
      select.append(option);
    }
  }

  renderHead() {
    const row = $("bulk-table").tHead.rows[0];
    row.replaceChildren();
    for (const [key, label] of TABLE_COLUMNS) {
      const cell = element("th");
      cell.scope = "col";
      cell.dataset.key = key;
      const button = element("button", label, "sort");
      button.type = "button";
      button.addEventListener("click", () => {
        this.descending = this.sortKey === key ? !this.descending : false;
        this.sortKey = key;
        this.render();
      });
      cell.append(button);
      row.append(cell);
    }
  }

  visibleRows() {
    const status = $("filter-status").value;
    const overall = $("filter-overall").value;
    const wanted = (value, filter) => filter === "" || (filter === "-" ? value === "" : value === filter);
    const rows = this.rows.filter((row) => wanted(row.status, status) && wanted(row.overall_result, overall));
    const key = this.sortKey;
    const numeric = rows.every((row) => row[key] === "" || !Number.isNaN(Number(row[key])));
    rows.sort((a, b) => {
      let order;
      if (numeric) order = (a[key] === "" ? -Infinity : Number(a[key])) - (b[key] === "" ? -Infinity : Number(b[key]));
      else order = a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0;
      if (order === 0) order = a.case < b.case ? -1 : a.case > b.case ? 1 : 0;
      return this.descending ? -order : order;
    });
    return rows;
  }

  render() {
    const rows = this.visibleRows();
    for (const cell of $("bulk-table").tHead.rows[0].cells) {
      const sorted = cell.dataset.key === this.sortKey;
      cell.setAttribute("aria-sort", sorted ? (this.descending ? "descending" : "ascending") : "none");
    }
    const body = $("bulk-table").tBodies[0];
    body.replaceChildren();
    for (const row of rows) {
      const line = element("tr");
      line.dataset.case = row.case;
      for (const [key] of TABLE_COLUMNS) {
        const cell = element(key === "case" ? "th" : "td", row[key] ?? "");
        if (key === "case") cell.scope = "row";
        cell.dataset.key = key;
        cell.dataset.value = row[key] ?? "";
        line.append(cell);
      }
      body.append(line);
    }
    $("bulk-table-caption").textContent = `${rows.length} of ${this.rows.length} cases shown; click a heading to sort.`;
  }
}

export function setupBulk(config, getToken, serverBase) {
  const rules = config.bulk;
  fillRules(rules);
  const table = new ResultsTable();
  let report = null;
  let downloadUrl = null;
  let running = false;
  let finishedJob = null;

  function authHeaders() {
    const token = getToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  function setState(text) {
    $("bulk-state").textContent = text;
  }

  async function onArchive(file) {
    $("bulk-run").disabled = true;
    report = null;
    if (!file) {
      $("zip-check").hidden = true;
      return;
    }
    setState("Checking the archive…");
    report = await checkArchive(file, rules);
    renderCheck(report);
    setState(report.refusal ? "Fix the archive before running it." : "Ready to run.");
    $("bulk-run").disabled = Boolean(report.refusal) || running;
  }

  const input = $("zip");
  input.addEventListener("change", () => onArchive(input.files[0]));
  const zone = $("drop-zip");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      const transfer = new DataTransfer();
      transfer.items.add(event.dataTransfer.files[0]);
      input.files = transfer.files;
      onArchive(input.files[0]);
    }
  });

  function progress(job) {
    const total = job.cases.total || 0;
    const done = job.cases.done || 0;
    $("bulk-progress").max = Math.max(total, 1);
    $("bulk-progress").value = done;
    $("bulk-counts").textContent = `${done} of ${total} cases done · ${job.errors} cannot be sent · job ${job.status}`;
  }

  async function finish(job) {
    setState("Fetching the results archive…");
    const response = await fetch(serverBase.origin + job.result_url, { headers: authHeaders(), cache: "no-store" });
    if (!response.ok) throw new Error(errorText(await jsonOrNull(response), `HTTP ${response.status}`));
    const blob = await response.blob();
    const entries = await readEntries(blob);
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    const text = (name) => readEntry(blob, byName.get(name)).then((bytes) => new TextDecoder().decode(bytes));
    table.load(await text("results.csv"));
    const summary = JSON.parse(await text("summary.json"));
    const statuses = Object.entries(summary.by_status).map(([code, count]) => `${count} × HTTP ${code}`).join(", ");
    const overall = Object.entries(summary.by_overall_result).map(([value, count]) => `${count} × ${value}`).join(", ");
    $("bulk-summary").textContent =
      `Done: ${summary.cases.total} cases, ${summary.cases.sent} sent, ${summary.cases.not_sent} not sent` +
      (statuses ? `; answers ${statuses}` : "") + (overall ? `; overall_result ${overall}` : "") + ".";
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(blob);
    const link = $("bulk-download");
    link.href = downloadUrl;
    link.download = `bulk-${job.id}.zip`;
    $("bulk-result").hidden = false;
    $("bulk-delete").disabled = false;
    finishedJob = job;
    setState("Finished.");
  }

  // The server keeps a finished job's results until its TTL; this deletes them now.
  $("bulk-delete").addEventListener("click", async () => {
    if (!finishedJob) return;
    const response = await fetch(serverBase.origin + finishedJob.status_url, {
      method: "DELETE", headers: authHeaders(), cache: "no-store",
    });
    if (response.status === 204 || response.status === 404) {
      $("bulk-delete").disabled = true;
      setState("Finished; the job and its results are deleted from the server (the download above still works).");
    } else {
      setState(`Could not delete the job: ${errorText(await jsonOrNull(response), `HTTP ${response.status}`)}`);
    }
  });

  async function poll(job) {
    while (job.status === "queued" || job.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const response = await fetch(serverBase.origin + job.status_url, { headers: authHeaders(), cache: "no-store" });
      const body = await jsonOrNull(response);
      if (!response.ok) throw new Error(errorText(body, `HTTP ${response.status}`));
      job = body;
      progress(job);
    }
    if (job.status === "failed") throw new Error(`the job failed: ${job.message || "no reason given"}`);
    return job;
  }

  $("bulk-run").addEventListener("click", async () => {
    const file = input.files[0];
    if (!file || running) return;
    running = true;
    $("bulk-run").disabled = true;
    $("bulk-result").hidden = true;
    $("bulk-progress-box").hidden = false;
    $("bulk-progress").value = 0;
    $("bulk-counts").textContent = "";
    setState("Uploading…");
    delete $("bulk-state").dataset.tone;
    try {
      const form = new FormData();
      form.append("file", file, file.name);
      const response = await fetch(serverBase.href + rules.submit_path.replace(/^\//, ""), {
        method: "POST", body: form, headers: authHeaders(), cache: "no-store",
      });
      const body = await jsonOrNull(response);
      if (response.status !== 202) throw new Error(errorText(body, `HTTP ${response.status}`));
      progress(body);
      setState("Running…");
      await finish(await poll(body));
    } catch (error) {
      setState(`Stopped: ${error.message}`);
      $("bulk-state").dataset.tone = "error";
    } finally {
      running = false;
      $("bulk-run").disabled = !report || Boolean(report.refusal);
    }
  });
}
