// Reading a ZIP in the browser: the central directory (names, flags, sizes) and, on demand,
// one small entry. Used to check a bulk input before it is sent (names only, plus the tiny
// unique_id.txt files) and to read results.csv out of a finished job's results archive.
// Nothing is extracted anywhere: entries are read into memory from the user's own file.

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

// The upper half of code page 437, which ZIP names use when the UTF-8 flag is not set.
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

export class ZipError extends Error {}

function decodeName(bytes, utf8) {
  if (utf8) return new TextDecoder("utf-8").decode(bytes);
  let out = "";
  for (const byte of bytes) out += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return out;
}

async function slice(blob, start, end) {
  return new DataView(await blob.slice(start, end).arrayBuffer());
}

function bigToNumber(view, offset) {
  return Number(view.getBigUint64(offset, true));
}

async function findEnd(blob) {
  const tailStart = Math.max(0, blob.size - (22 + MAX_COMMENT));
  const tail = await slice(blob, tailStart, blob.size);
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) !== EOCD) continue;
    let count = tail.getUint16(i + 10, true);
    let size = tail.getUint32(i + 12, true);
    let offset = tail.getUint32(i + 16, true);
    const position = tailStart + i;
    if ((count === 0xffff || size === 0xffffffff || offset === 0xffffffff) && position >= 20) {
      const locator = await slice(blob, position - 20, position);
      if (locator.getUint32(0, true) === ZIP64_LOCATOR) {
        const at = bigToNumber(locator, 8);
        const record = await slice(blob, at, at + 56);
        if (record.getUint32(0, true) !== ZIP64_EOCD) throw new ZipError("not a readable ZIP archive: bad ZIP64 record");
        count = bigToNumber(record, 32);
        size = bigToNumber(record, 40);
        offset = bigToNumber(record, 48);
      }
    }
    return { count, size, offset };
  }
  throw new ZipError("not a ZIP archive");
}

function zip64Sizes(view, start, length, entry) {
  // The ZIP64 extra field holds, in this order, the fields whose 32-bit value is all ones.
  let at = start;
  while (at + 4 <= start + length) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      for (const key of ["size", "compressedSize", "offset"]) {
        if (entry[key] === 0xffffffff && field + 8 <= at + 4 + size) {
          entry[key] = bigToNumber(view, field);
          field += 8;
        }
      }
      return;
    }
    at += 4 + size;
  }
}

/** The entries of the central directory, in archive order. */
export async function readEntries(blob) {
  if (blob.size === 0) throw new ZipError("the archive is empty (0 bytes)");
  const end = await findEnd(blob);
  if (end.offset + end.size > blob.size) throw new ZipError("not a readable ZIP archive: truncated central directory");
  const view = await slice(blob, end.offset, end.offset + end.size);
  const entries = [];
  let at = 0;
  while (at + 46 <= view.byteLength && view.getUint32(at, true) === CENTRAL) {
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const flags = view.getUint16(at + 8, true);
    const nameBytes = new Uint8Array(view.buffer, view.byteOffset + at + 46, nameLength);
    const entry = {
      name: decodeName(nameBytes, (flags & 0x800) !== 0),
      flags,
      system: view.getUint16(at + 4, true) >> 8,
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      externalAttr: view.getUint32(at + 38, true),
      offset: view.getUint32(at + 42, true),
    };
    zip64Sizes(view, at + 46 + nameLength, extraLength, entry);
    entry.isDir = entry.name.endsWith("/");
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  if (entries.length !== end.count) throw new ZipError("not a readable ZIP archive: the central directory is damaged");
  return entries;
}

/** The bytes of one (stored or deflated) entry. */
export async function readEntry(blob, entry) {
  const header = await slice(blob, entry.offset, entry.offset + 30);
  if (header.getUint32(0, true) !== LOCAL) throw new ZipError(`entry '${entry.name}' is corrupt: bad local header`);
  const start = entry.offset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  const raw = blob.slice(start, start + entry.compressedSize);
  if (entry.method === 0) return new Uint8Array(await raw.arrayBuffer());
  if (entry.method !== 8) throw new ZipError(`entry '${entry.name}' uses a compression method this page cannot read`);
  const stream = raw.stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
