/**
 * Python-compatible JSON text, so the MSW handlers send the same bytes as the Python mock.
 *
 * The mock encodes with `json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)`.
 * Two things differ from `JSON.stringify`: a Python float is written by `repr` (`95.0`,
 * not `95`; `1e-05`, not `1e-5`), and every non-ASCII character is escaped as `\uXXXX`.
 * Every number the handlers build is a Python float in the mock (scores, confidences), so
 * numbers are always written the way `repr(float)` writes them. Integer-valued bodies (the
 * contract's examples) are never re-encoded: their exact text comes from the generator.
 */

export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson };

/** `repr(float(value))`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16. */
export function pyFloat(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(`JSON cannot hold ${value} (the mock refuses it too: allow_nan=False)`);
  }
  if (value === 0) {
    return Object.is(value, -0) ? "-0.0" : "0.0";
  }
  const [mantissa, exponentText] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? "-" : "+";
    return `${sign}${head}e${expSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) {
    return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  }
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || "0"}`;
}

/** Python's `round(value, places)`: the exact binary value rounded half to even. */
export function pyRound(value: number, places: number): number {
  // toFixed rounds the exact binary value, but sends exact ties away from zero where Python
  // sends them to the even neighbour. An exact tie at `places` decimals is a dyadic value:
  // value * 2^(places+1) is then an odd integer (a power-of-two product is exact).
  const doubled = value * 2 ** (places + 1);
  if (Number.isInteger(doubled) && Math.abs(doubled) % 2 === 1) {
    const scaled = value * 10 ** places; // exact: k * 5^places / 2 for small k
    const low = Math.floor(scaled);
    const even = low % 2 === 0 ? low : low + 1;
    return even / 10 ** places;
  }
  return Number(value.toFixed(places));
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A JSON string literal as Python writes it with ensure_ascii (UTF-16 units as \uXXXX). */
export function pyString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    const escape = ESCAPES[ch];
    if (escape !== undefined) {
      out += escape;
    } else if (code < 0x20 || code > 0x7e) {
      out += "\\u" + code.toString(16).padStart(4, "0");
    } else {
      out += ch;
    }
  }
  return out + '"';
}

/** Compact, key-order-preserving, ASCII-only JSON, byte for byte like the mock's encoder. */
export function pyDumps(value: PyJson): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pyFloat(value);
  if (typeof value === "string") return pyString(value);
  if (Array.isArray(value)) return "[" + value.map(pyDumps).join(",") + "]";
  return "{" + Object.entries(value).map(([key, item]) => `${pyString(key)}:${pyDumps(item)}`).join(",") + "}";
}

// Python's str.isprintable(): not in Cc, Cf, Cs, Co, Cn, Zl, Zp or Zs (the space excepted).
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr(str)` (the mock writes an unknown example's name with `{name!r}`). */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else if (code < 0x7f) out += ch;
    else if (ch !== " " && NOT_PRINTABLE.test(ch)) {
      if (code <= 0xff) out += "\\x" + code.toString(16).padStart(2, "0");
      else if (code <= 0xffff) out += "\\u" + code.toString(16).padStart(4, "0");
      else out += "\\U" + code.toString(16).padStart(8, "0");
    } else out += ch;
  }
  return out + quote;
}

/** Python's `str.format` for the mock's message templates: `{name}` and `{name!r}` only. */
export function pyFormat(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)(!r)?\}/g, (_, name: string, repr: string | undefined) => {
    const value = params[name];
    if (value === undefined) throw new Error(`message template needs {${name}}`);
    if (repr) return typeof value === "string" ? pyRepr(value) : String(value);
    return String(value);
  });
}
