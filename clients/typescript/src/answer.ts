/**
 * One request to the operation answered as the Python mock answers it, with no server.
 *
 * The steps and their order are the mock's (`mock_server/api.py`): the bearer token, the
 * correlation id header, the form (multipart, known and single fields, image1 present, text
 * fields valid), then a named example when one was asked for, else the image checks and the
 * canned engine. What cannot be reproduced without decoding images is listed in README.md.
 *
 * Faults and delays sit where the mock has them: the request's `Prefer: fault=`, `fault-ms=`
 * and `delay=` are read after the token and correlation-id checks (a bad value is a 422);
 * an HTTP-level fault (503, 429, 502, 504) then answers at once, before the form is read; a
 * socket-level one lets the request run and is handed, with the delay, to the handler that
 * delivers the answer (handlers.ts). A refusal that comes before the `Prefer` header is read
 * (401, a bad correlation id, a bad `Prefer` value) is delayed by the default latency only.
 */

import { authProblem, type AuthOptions } from "./auth.js";
import { build, derivedLiveness, derivedMatch, fixtureFor, hex, samePerson, sha256, type Fixture, type Liveness } from "./canned.js";
import {
  BINARY_FIELDS,
  CORRELATION_CHECKS,
  CORRELATION_HEADER,
  ERRORS,
  EXAMPLE_QUERY_PARAMETER,
  EXAMPLES,
  FAULTS,
  LIMITS,
  REQUIRED_FIELDS,
  TEXT_FIELDS,
  type ErrorKindName,
  type ScenarioName,
} from "./contract-data.js";
import {
  BadValue,
  chooseFault,
  defaultDurationMs,
  drawDelayMs,
  faultNamed,
  isSocketLevel,
  parseDelay,
  parseDurationMs,
  pyStrip,
  PLAIN,
  type Delay,
  type FaultName,
  type FaultPolicy,
  type SocketFaultName,
  type Steering,
} from "./faults.js";
import { pyDumps, pyFormat, type PyJson } from "./pyjson.js";

export interface Answer {
  readonly status: number;
  /** The exact JSON text of the body. */
  readonly body: string;
  readonly correlationId: string;
}

type Params = Record<string, string | number>;

/** A refusal: an error kind of the mock's table, its message parameters and 422 extras. */
export class Refusal extends Error {
  constructor(
    readonly kind: ErrorKindName,
    readonly params: Params = {},
    readonly extra: { [key: string]: PyJson } = {},
  ) {
    super(kind);
  }

  get status(): number {
    return ERRORS[this.kind].status;
  }

  body(): string {
    const message = pyFormat(ERRORS[this.kind].template, this.params);
    if (this.status !== 422) return pyDumps({ msg: message });
    const detail: { [key: string]: PyJson } = { error: this.kind };
    if ("field" in this.params) detail.field = this.params.field;
    return pyDumps({ detail: { ...detail, ...this.extra }, message });
  }
}

interface Part {
  readonly bytes: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const FORM_MEDIA_TYPE = "multipart/form-data";
const SIGNATURES: ReadonlyArray<readonly [number[], number, string]> = [
  [[0xff, 0xd8, 0xff], 0, "JPEG"],
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0, "PNG"],
  [[0x57, 0x45, 0x42, 0x50], 8, "WEBP"],
];
/** Kinds a fixture can carry that the mock's image checks (not its engine) report. */
const CHECK_STAGE_KINDS = new Set<string>(["unsupported_image", "corrupt_image", "too_many_pixels"]);

function correlationProblem(value: string): string | null {
  for (const check of CORRELATION_CHECKS) {
    const length = [...value].length;
    if (check.keyword === "minLength" && length < check.value) return check.reason;
    if (check.keyword === "maxLength" && length > check.value) return check.reason;
    if (check.keyword === "pattern" && !new RegExp(check.value, "u").test(value)) return check.reason;
  }
  return null;
}

function newCorrelationId(): string {
  return crypto.randomUUID().replace(/-/g, "");
}

function checkContentType(contentType: string | null): void {
  const [mimetype, ...params] = (contentType ?? "").split(";");
  if (mimetype.trim() !== FORM_MEDIA_TYPE) throw new Refusal("not_multipart");
  const boundary = params
    .map((param) => param.trim())
    .find((param) => param.toLowerCase().startsWith("boundary="))
    ?.slice("boundary=".length)
    .replace(/^"(.*)"$/, "$1");
  if (!boundary || boundary.length > 200 || !/^[\x00-\x7f]*$/.test(boundary)) throw new Refusal("malformed_multipart");
}

async function partBytes(value: FormDataEntryValue): Promise<Uint8Array<ArrayBuffer>> {
  return typeof value === "string" ? encoder.encode(value) : new Uint8Array(await value.arrayBuffer());
}

async function readForm(request: Request): Promise<Map<string, Part>> {
  checkContentType(request.headers.get("Content-Type"));
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw new Refusal("malformed_multipart");
  }
  const known = new Set<string>([...BINARY_FIELDS, ...Object.keys(TEXT_FIELDS)]);
  const parts = new Map<string, Part>();
  for (const [name, value] of form.entries()) {
    if (parts.has(name)) throw new Refusal("duplicate_field", { field: name });
    if (!known.has(name)) throw new Refusal("unknown_field", { field: name });
    parts.set(name, { bytes: await partBytes(value) });
  }
  for (const name of REQUIRED_FIELDS) {
    if (!parts.has(name)) {
      throw new Refusal(name === "image1" ? "missing_image1" : "invalid_field", { field: name, reason: "required" });
    }
  }
  for (const [name, checks] of Object.entries(TEXT_FIELDS)) {
    const part = parts.get(name);
    if (part === undefined) continue;
    if (part.bytes.length > LIMITS.textFieldBytes) throw new Refusal("invalid_field", { field: name, reason: "too long" });
    let text: string;
    try {
      text = utf8.decode(part.bytes);
    } catch {
      throw new Refusal("invalid_field", { field: name, reason: "not UTF-8 text" });
    }
    for (const check of checks) {
      if (check.keyword === "maxLength" && [...text].length > check.value) {
        throw new Refusal("invalid_field", { field: name, reason: check.reason });
      }
    }
  }
  return parts;
}

/** `Prefer: example=a, code=200` -> {example: "a", code: "200"} (the mock's RFC 7240 reading). */
function parsePrefer(header: string | null): Map<string, string> {
  const preferences = new Map<string, string>();
  for (const item of (header ?? "").replace(/;/g, ",").split(",")) {
    const at = item.indexOf("=");
    if (at >= 0) {
      preferences.set(pyStrip(item.slice(0, at)).toLowerCase(), pyStrip(item.slice(at + 1)).replace(/^"+|"+$/g, ""));
    }
  }
  return preferences;
}

const EXAMPLE_NAMES = Object.keys(EXAMPLES) as ScenarioName[];

function unknownExample(name: string): Refusal {
  const available = [...EXAMPLE_NAMES].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return new Refusal("unknown_example", { name }, { available });
}

/** The named example the client asked for, null when none, a 422 when unknown. */
export function chosenExample(url: URL, prefer: string | null): { status: number; body: string } | null {
  const preferences = parsePrefer(prefer);
  const name = url.searchParams.get(EXAMPLE_QUERY_PARAMETER) || preferences.get("example");
  if (name) {
    if (!Object.hasOwn(EXAMPLES, name)) throw unknownExample(name);
    return EXAMPLES[name as ScenarioName];
  }
  const code = preferences.get("code");
  if (code) {
    const status = /^[0-9]+$/.test(code) ? Number.parseInt(code, 10) : NaN;
    const first = EXAMPLE_NAMES.find((example) => EXAMPLES[example].status === status);
    if (first === undefined) throw unknownExample(`code=${code}`);
    return EXAMPLES[first];
  }
  return null;
}

function sniffFormat(data: Uint8Array): string | null {
  for (const [magic, offset, name] of SIGNATURES) {
    if (magic.every((byte, i) => data[offset + i] === byte)) {
      if (name === "WEBP" && !(data[0] === 0x52 && data[1] === 0x49 && data[2] === 0x46 && data[3] === 0x46)) continue;
      return name;
    }
  }
  return null;
}

interface CheckedImage {
  readonly field: string;
  readonly digest: Uint8Array;
  readonly sha256: string;
  readonly fixture: Fixture | undefined;
}

/** The mock's image checks, less the decode: size window, format signature, fixture verdicts. */
async function checkImage(field: string, data: Uint8Array<ArrayBuffer>): Promise<CheckedImage> {
  if (data.length > LIMITS.maxImageBytes) throw new Refusal("image_too_large", { field, limit: LIMITS.maxImageBytes });
  if (data.length === 0) throw new Refusal("empty_image", { field });
  if (data.length < LIMITS.minImageBytes) {
    throw new Refusal("image_too_small", { field, size: data.length, limit: LIMITS.minImageBytes });
  }
  const digest = await sha256(data);
  const digestHex = hex(digest);
  const fixture = fixtureFor(digestHex);
  const fixtureError = fixture && "error" in fixture ? fixture.error : undefined;
  if (fixtureError !== undefined && CHECK_STAGE_KINDS.has(fixtureError)) {
    throw new Refusal(fixtureError, { field, limit: LIMITS.maxImagePixels });
  }
  if (sniffFormat(data) === null) throw new Refusal("unsupported_image", { field });
  return { field, digest, sha256: digestHex, fixture };
}

function liveness(image: CheckedImage): Liveness {
  const fixture = image.fixture;
  if (fixture === undefined) return derivedLiveness(image.digest);
  if ("error" in fixture) throw new Refusal(fixture.error === "no_face" ? "no_face" : "processing_failed", { field: image.field });
  return { result: fixture.liveness, score: fixture.score };
}

async function respond(request: Request): Promise<{ status: number; body: string }> {
  const parts = await readForm(request);
  const example = chosenExample(new URL(request.url), request.headers.get("Prefer"));
  if (example !== null) return example;
  const image1 = await checkImage("image1", parts.get("image1")!.bytes);
  const second = parts.get("image2");
  const image2 = second === undefined ? undefined : await checkImage("image2", second.bytes);
  const first = liveness(image1);
  if (image2 === undefined) return { status: 200, body: pyDumps(build({ image1: first })) };
  const secondLiveness = liveness(image2);
  const match = await derivedMatch(image1.sha256, image2.sha256, samePerson(image1.fixture, image2.fixture));
  return { status: 200, body: pyDumps(build({ image1: first, second: { image2: secondLiveness, match } })) };
}

/** What a handler's options add to every request, like the mock's command line. */
export interface Settings {
  readonly auth?: AuthOptions;
  /** Every answer's latency, refusals included (`--latency`). */
  readonly latency?: Delay | null;
  /** Random faults (`--faults`, `--fault-rate`, `--fault-seed`). */
  readonly policy?: FaultPolicy | null;
  /** The next request number (1, 2, ...), the key of a seeded draw without a correlation id. */
  readonly nextCall?: () => number;
}

/** An answer with what is to be done to its delivery. */
export interface Delivery extends Answer {
  readonly contentType: string;
  /** Headers besides Content-Type and the correlation id (Retry-After). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** A socket-level fault to carry out instead of a plain delivery, with its duration. */
  readonly fault: SocketFaultName | null;
  readonly faultMs: number;
  /** How long to wait before delivering (or before carrying out the fault), drawn once. */
  readonly delayMs: number;
}

const JSON_TYPE = "application/json";

/** `mock_server.steering.from_prefer`: the request's own layer; a 422 on a value it cannot use. */
function fromPrefer(preferences: Map<string, string>): Steering {
  const name = preferences.get("fault");
  const duration = preferences.get("fault-ms");
  const spec = preferences.get("delay");
  if (name === undefined && duration === undefined && spec === undefined) return PLAIN;
  let fault: FaultName | null = null;
  if (name !== undefined) {
    fault = faultNamed(name);
    if (fault === null) throw new Refusal("unknown_fault", { name }, { field: "Prefer", available: [...FAULTS.names] });
  }
  let faultMs = fault !== null ? defaultDurationMs(fault) : 0;
  if (duration !== undefined) {
    const given = parseOrRefuse(() => parseDurationMs(duration), "invalid_fault_ms");
    if (fault !== null) faultMs = given;
  }
  const delay = spec === undefined ? null : parseOrRefuse(() => parseDelay(spec), "invalid_delay");
  return { fault, faultMs, delay };
}

function parseOrRefuse<T>(parse: () => T, kind: "invalid_fault_ms" | "invalid_delay"): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof BadValue)) throw error;
    const params: Params = { reason: error.message };
    if (kind === "invalid_fault_ms") params.limit = FAULTS.maxDelayMs;
    throw new Refusal(kind, params, { field: "Prefer" });
  }
}

/** `mock_server.steering.combine` for the two layers the handlers have: the request, then the options. */
async function combine(own: Steering, settings: Settings, key: string): Promise<Steering> {
  const delay = own.delay ?? settings.latency ?? null;
  if (own.fault !== null || !settings.policy) return { fault: own.fault, faultMs: own.faultMs, delay };
  const fault = await chooseFault(settings.policy, key);
  return { fault, faultMs: fault !== null ? defaultDurationMs(fault) : 0, delay };
}

/**
 * Answers one POST to the operation as the mock's app does, and says how the answer is to be
 * delivered: after which delay, and spoiled by which socket-level fault.
 */
export async function deliver(request: Request, settings: Settings = {}): Promise<Delivery> {
  const call = settings.nextCall?.() ?? 0;
  const given = request.headers.get(CORRELATION_HEADER);
  const problem = given !== null ? correlationProblem(given) : null;
  const correlationId = given && !problem ? given : newCorrelationId();
  const key = given || `#${call}`;
  let steering: Steering | null = null;
  let built: { status: number; body: string; contentType: string; headers: ReadonlyArray<readonly [string, string]> };
  try {
    const refused = await authProblem(request.headers.get("Authorization"), settings.auth ?? {});
    if (refused !== null) throw new Refusal(refused);
    if (problem !== null) throw new Refusal("invalid_header", { field: CORRELATION_HEADER, reason: problem });
    steering = await combine(fromPrefer(parsePrefer(request.headers.get("Prefer"))), settings, key);
    if (steering.fault !== null && !isSocketLevel(steering.fault)) {
      const fault = FAULTS.http[steering.fault];
      built = { status: fault.status, body: fault.body, contentType: fault.contentType, headers: fault.headers };
    } else {
      const length = Number(request.headers.get("Content-Length") ?? "NaN");
      if (length > LIMITS.maxBodyBytes) throw new Refusal("body_too_large", { size: length, limit: LIMITS.maxBodyBytes });
      built = { ...(await respond(request)), contentType: JSON_TYPE, headers: [] };
    }
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    built = { status: error.status, body: error.body(), contentType: JSON_TYPE, headers: [] };
  }
  // A call refused before its own orders were read is delayed by the default latency only.
  const orders = steering ?? { ...PLAIN, delay: settings.latency ?? null };
  const fault = orders.fault !== null && isSocketLevel(orders.fault) ? orders.fault : null;
  const delayMs = orders.delay !== null ? drawDelayMs(orders.delay) : 0;
  return { ...built, correlationId, fault, faultMs: fault !== null ? orders.faultMs : 0, delayMs };
}

/**
 * Answers one POST to the operation: status, exact body text and the correlation id to echo.
 * This is the answer the mock's app builds (and journals): an HTTP-level fault's answer when
 * one was asked for, else the answer a socket-level fault would spoil; no delay is waited.
 */
export async function answer(request: Request, auth: AuthOptions = {}): Promise<Answer> {
  const { status, body, correlationId } = await deliver(request, { auth });
  return { status, body, correlationId };
}
