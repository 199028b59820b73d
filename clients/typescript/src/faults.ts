/**
 * Faults and delays on request, read and drawn as the Python mock reads and draws them
 * (`mock_server/faults.py`, `mock_server/steering.py`): `Prefer: fault=NAME, fault-ms=N,
 * delay=SPEC`, and the handlers' own `delay` / `faults` / `faultRate` / `faultSeed` options
 * (the mock's `--latency`, `--faults`, `--fault-rate`, `--fault-seed`).
 *
 * The answers, bounds, defaults and messages come from contract-data.ts (generated from the
 * Python side); this file holds only the reading and the drawing.
 */

import { sha256 } from "./canned.js";
import { FAULTS } from "./contract-data.js";
import { pyFormat } from "./pyjson.js";

export type FaultName = (typeof FAULTS.names)[number];
export type HttpFaultName = keyof typeof FAULTS.http;
export type SocketFaultName = (typeof FAULTS.socketLevel)[number];

/** A value the mock would refuse; `message` is the mock's sentence (a ValueError there). */
export class BadValue extends Error {}

export type DelayKind = "fixed" | "uniform" | "tail";

export interface Delay {
  readonly kind: DelayKind;
  readonly lowMs: number;
  readonly highMs: number;
}

/** One request's orders besides answering: a fault with its duration (hang, slow), a delay. */
export interface Steering {
  readonly fault: FaultName | null;
  readonly faultMs: number;
  readonly delay: Delay | null;
}

export const PLAIN: Steering = { fault: null, faultMs: 0, delay: null };

// Python's str.isspace() characters, which str.strip() removes (JavaScript's trim differs).
const PY_SPACE = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "g");
/** Python's default limit on the digits `int(str)` converts (sys.get_int_max_str_digits()). */
const PY_INT_MAX_DIGITS = 4300;

/** Python's `str.strip()` with no argument. */
export function pyStrip(text: string): string {
  return text.replace(PY_STRIP, "");
}

/** Python's `int(text)` for the text a header can carry (ASCII digits), null when it raises. */
function pyInt(text: string): bigint | null {
  const value = pyStrip(text);
  if (!/^[+-]?[0-9](?:_?[0-9])*$/.test(value)) return null;
  const digits = value.replace(/[+_-]/g, "");
  if (digits.length > PY_INT_MAX_DIGITS) return null;
  return BigInt(value.replace(/_/g, ""));
}

function refuse(template: string, text: string): never {
  throw new BadValue(pyFormat(template, { text }));
}

/** `mock_server.faults.Fault.named`: the fault of that name, null when none. */
export function faultNamed(name: string): FaultName | null {
  const key = pyStrip(name).toLowerCase();
  return (FAULTS.names as readonly string[]).includes(key) ? (key as FaultName) : null;
}

export function isSocketLevel(fault: FaultName): fault is SocketFaultName {
  return (FAULTS.socketLevel as readonly string[]).includes(fault);
}

/** `mock_server.faults.parse_delay`: `200`, `100-400`, `tail:200-3000`; BadValue otherwise. */
export function parseDelay(text: string): Delay {
  const messages = FAULTS.delayMessages;
  let raw = pyStrip(text).toLowerCase();
  let kind: DelayKind = "uniform";
  if (raw.startsWith("tail:")) {
    kind = "tail";
    raw = raw.slice("tail:".length);
  }
  const at = raw.indexOf("-");
  const separated = at >= 0;
  const low = pyInt(separated ? raw.slice(0, at) : raw);
  const high = separated ? pyInt(raw.slice(at + 1)) : low;
  if (low === null || high === null) refuse(messages.format, text);
  if (low < 0n || high < low) refuse(messages.range, text);
  if (high > BigInt(FAULTS.maxDelayMs)) refuse(messages.max, text);
  if (kind === "tail" && !separated) refuse(messages.tail, text);
  if (!separated && kind === "uniform") kind = "fixed";
  return { kind, lowMs: Number(low), highMs: Number(high) };
}

/** `mock_server.faults.parse_duration_ms`: a fault's duration, 0..maxDelayMs. */
export function parseDurationMs(text: string): number {
  const value = pyStrip(text);
  if (!/^[0-9]+$/.test(value) || BigInt(value) > BigInt(FAULTS.maxDelayMs)) refuse(FAULTS.faultMsMessage, text);
  return Number(value);
}

/** How long a timed fault lasts without `fault-ms` (0 for the others). */
export function defaultDurationMs(fault: FaultName): number {
  return fault === "hang" || fault === "slow" ? FAULTS.defaultMs[fault] : 0;
}

function standardNormal(random: () => number): number {
  // Box-Muller; 1 - random() is in (0, 1], so the logarithm is finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** One delay in milliseconds, never over maxDelayMs (`Delay.draw_ms`; the draws are random). */
export function drawDelayMs(delay: Delay, random: () => number = Math.random): number {
  let value: number;
  if (delay.kind === "fixed") value = delay.lowMs;
  else if (delay.kind === "uniform") value = delay.lowMs + (delay.highMs - delay.lowMs) * random();
  else {
    const median = Math.max(delay.lowMs, 1);
    const sigma = Math.log(Math.max(delay.highMs, median) / median) / FAULTS.z99;
    value = Math.exp(Math.log(median) + sigma * standardNormal(random));
  }
  return Math.min(value, FAULTS.maxDelayMs);
}

/** Random faults, like `--faults`, `--fault-rate` and `--fault-seed` (`FaultPolicy`). */
export interface FaultPolicy {
  readonly rate: number;
  readonly faults: readonly FaultName[];
  readonly seed: number | null;
}

/** The policy of the handler options, checked as `facematch serve` checks its flags. */
export function faultPolicy(faults: readonly string[] | string, rate: number, seed: number | null): FaultPolicy {
  const names = (typeof faults === "string" ? faults.split(",") : [...faults]).map(pyStrip).filter((name) => name);
  const known = names.map(faultNamed);
  const unknown = names.filter((_, i) => known[i] === null);
  const messages = FAULTS.optionMessages;
  if (names.length === 0) throw new BadValue(messages.none);
  if (unknown.length > 0) throw new BadValue(pyFormat(messages.unknown, { names: unknown.join(", ") }));
  if (!(rate >= 0 && rate <= 1)) throw new BadValue(pyFormat(messages.rate, { rate }));
  if (seed !== null && !Number.isSafeInteger(seed)) throw new BadValue(`fault seed must be a safe integer, not ${seed}`);
  return { rate, faults: known.filter((fault): fault is FaultName => fault !== null), seed };
}

/**
 * `FaultPolicy.choose`: with a seed, the first 8 bytes of SHA-256(`SEED:KEY`) as a fraction
 * of 2^64 decide whether a fault applies and the next 4 (big-endian) which, exactly as the
 * mock draws them, so the same seed and keys meet the same faults under both.
 */
export async function chooseFault(policy: FaultPolicy, key: string, random: () => number = Math.random): Promise<FaultName | null> {
  if (policy.rate <= 0 || policy.faults.length === 0) return null;
  let draw: number;
  let pick: number;
  if (policy.seed === null) {
    draw = random();
    pick = Math.floor(random() * policy.faults.length);
  } else {
    const digest = await sha256(`${policy.seed}:${key}`);
    const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
    draw = Number(view.getBigUint64(0, false)) / 2 ** 64;
    pick = view.getUint32(8, false) % policy.faults.length;
  }
  return draw < policy.rate ? policy.faults[pick] : null;
}
