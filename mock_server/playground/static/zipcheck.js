// The archive check before Run: the naming rules and the name-level refusals of
// facematch_bulk/archive.py, applied in the browser to the ZIP's central directory.
// The rules' values (extensions, patterns, limits) come from the server's config.json, so
// both sides read one definition; what only the server can judge (the decompressed bytes:
// CRCs, forged sizes, archives hidden under an image name) is left to the server, whose
// refusal the page shows when Run is pressed.

import { readEntries, readEntry, ZipError } from "./zipread.js";

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const UNIX = 3;

function nameProblem(name) {
  if (name.includes("\u0000")) return "contains a NUL byte";
  const path = name.replaceAll("\\", "/");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "is an absolute path";
  if (path.split("/").includes("..")) return "climbs out of the archive with '..'";
  return null;
}

/** ".jpg .jpeg .png or .webp" */
export function extensionList(extensions) {
  return extensions.length > 1 ? `${extensions.slice(0, -1).join(" ")} or ${extensions[extensions.length - 1]}` : extensions.join("");
}

/** The name as Python's repr() writes it in the server's messages (quotes, backslashes). */
function quoted(name) {
  const escaped = name.replaceAll("\\", "\\\\");
  if (name.includes("'") && !name.includes('"')) return `"${escaped}"`;
  return `'${escaped.replaceAll("'", "\\'")}'`;
}

/** Path parts as PurePosixPath sees them: no empty or "." parts. */
function parts(name) {
  return name.replaceAll("\\", "/").split("/").filter((part) => part !== "" && part !== ".");
}

function isJunk(pathParts, rules) {
  const last = pathParts[pathParts.length - 1] || "";
  return pathParts.some((part) => rules.junk_parts.includes(part)) || rules.junk_names.includes(last) || last.startsWith("._");
}

function refuse(message) {
  return { refusal: message, cases: [], problems: [], ignored: [], entries: 0 };
}

/** Whole-archive refusals that the central directory shows; null when there is none. */
function entryRefusal(entries, rules, files) {
  if (entries.length === 0) return "the archive has no entries";
  if (entries.length > rules.max_entries) {
    return `the archive has ${entries.length} entries, over the limit of ${rules.max_entries}`;
  }
  let declared = 0;
  for (const entry of entries) {
    const name = entry.name;
    const problem = nameProblem(name);
    if (problem) return `entry ${quoted(name)} ${problem}`;
    if (entry.system === UNIX && ((entry.externalAttr >>> 16) & S_IFMT) === S_IFLNK) {
      return `entry ${quoted(name)} is a symbolic link`;
    }
    if (entry.flags & 0x1) return `entry ${quoted(name)} is encrypted`;
    if (entry.isDir) continue;
    if (files.has(name)) return `entry ${quoted(name)} appears more than once`;
    if (rules.archive_extensions.some((ext) => name.toLowerCase().endsWith(ext))) {
      return `entry ${quoted(name)} is an archive inside the archive (nested archives are refused)`;
    }
    if (entry.size > rules.max_entry_bytes) {
      return `entry ${quoted(name)} expands to ${entry.size} bytes, over the per-entry limit of ${rules.max_entry_bytes} bytes`;
    }
    declared += entry.size;
    if (declared > rules.max_total_bytes) return `the archive expands to more than ${rules.max_total_bytes} bytes (the limit)`;
    files.set(name, entry);
  }
  if (files.size === 0) return "the archive has no files (only folders)";
  return null;
}

async function readUniqueId(blob, entry, rules) {
  const tooBig = `unique_id.txt is over ${rules.max_unique_id_bytes} bytes`;
  if (entry.size > rules.max_unique_id_bytes) return { value: null, reason: tooBig };
  let bytes;
  try {
    bytes = await readEntry(blob, entry);
  } catch (error) {
    return { value: null, reason: null }; // the server's content check will name the damage
  }
  if (bytes.length > rules.max_unique_id_bytes) return { value: null, reason: tooBig };
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes).trim();
    return { value: text || null, reason: null };
  } catch (error) {
    return { value: null, reason: "unique_id.txt is not UTF-8 text" };
  }
}

function compareCodePoints(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Check a bulk input the way the server will: {refusal, cases, problems, ignored}.
 * cases: [{id, image1, image2, uniqueId}]; problems: [{case, entry, reason}].
 */
export async function checkArchive(blob, rules) {
  if (blob.size > rules.max_archive_bytes) {
    return refuse(`the archive is ${blob.size} bytes, over the limit of ${rules.max_archive_bytes} bytes`);
  }
  let entries;
  try {
    entries = await readEntries(blob);
  } catch (error) {
    if (error instanceof ZipError) return refuse(error.message);
    throw error;
  }
  const files = new Map();
  const refusal = entryRefusal(entries, rules, files);
  if (refusal) return refuse(refusal);

  const flat = new RegExp(rules.flat_pattern, "i");
  const folder = new RegExp(rules.folder_pattern, "i");
  const slots = new Map();
  const found = { refusal: null, cases: [], problems: [], ignored: [], entries: entries.length };
  for (const name of [...files.keys()].sort(compareCodePoints)) {
    const pathParts = parts(name);
    if (isJunk(pathParts, rules)) continue;
    const base = pathParts[pathParts.length - 1] || "";
    const parent = pathParts.slice(0, -1).join("/");
    const inFolder = folder.exec(base);
    const flatName = flat.exec(base);
    let caseId;
    let role;
    let ext;
    if (inFolder && parent) {
      caseId = parent;
      role = inFolder.groups.role.toLowerCase();
      ext = (inFolder.groups.ext || "").toLowerCase();
    } else if (flatName) {
      caseId = parent ? `${parent}/${flatName.groups.case}` : flatName.groups.case;
      role = flatName.groups.role.toLowerCase();
      ext = (flatName.groups.ext || "").toLowerCase();
    } else {
      found.ignored.push(name);
      continue;
    }
    if (!slots.has(caseId)) slots.set(caseId, { files: new Map(), bad: [] });
    const slot = slots.get(caseId);
    if (role === rules.unique_id_role) {
      if (ext !== ".txt") {
        slot.bad.push({ entry: name, role, reason: `${role} must be a .txt file, not ${ext || "a file without extension"}` });
        continue;
      }
    } else if (!rules.image_extensions.includes(ext)) {
      const shown = ext || "no extension";
      slot.bad.push({ entry: name, role, reason: `${role} has an unsupported extension (${shown}); use ${extensionList(rules.image_extensions)}` });
      continue;
    }
    if (!slot.files.has(role)) slot.files.set(role, []);
    slot.files.get(role).push(name);
  }

  const imageRole = rules.image_roles[0];
  for (const caseId of [...slots.keys()].sort(compareCodePoints)) {
    const slot = slots.get(caseId);
    const problems = slot.bad.map((bad) => ({ case: caseId, entry: bad.entry, reason: bad.reason }));
    for (const [role, names] of slot.files) {
      if (names.length > 1) problems.push({ case: caseId, entry: names.join(", "), reason: `more than one ${role} file` });
    }
    if (!slot.files.has(imageRole) && !slot.bad.some((bad) => bad.role === imageRole)) {
      problems.push({ case: caseId, entry: "", reason: `no ${imageRole} file (expected CASE/${imageRole}.<ext> or CASE_${imageRole}.<ext>)` });
    }
    let uniqueId = null;
    const idFiles = slot.files.get(rules.unique_id_role);
    if (problems.length === 0 && idFiles) {
      const read = await readUniqueId(blob, files.get(idFiles[0]), rules);
      if (read.reason) problems.push({ case: caseId, entry: idFiles[0], reason: read.reason });
      uniqueId = read.value;
    }
    if (problems.length) {
      found.problems.push(...problems);
      continue;
    }
    found.cases.push({
      id: caseId,
      image1: slot.files.get(rules.image_roles[0])[0],
      image2: (slot.files.get(rules.image_roles[1]) || [null])[0],
      uniqueId,
    });
  }
  if (found.cases.length === 0 && found.problems.length === 0) {
    return refuse(
      "no cases found: expected CASE/image1.jpg (a folder per case) or CASE_image1.jpg (flat), " +
        `with ${extensionList(rules.image_extensions)} images`,
    );
  }
  return found;
}
