/**
 * Faults and delays (`Prefer: fault=`, `fault-ms=`, `delay=`; the handlers' `delay`,
 * `faults`, `faultRate`, `faultSeed` options) under the MSW handlers and the real Python mock.
 *
 * Driven by tests/test_typescript_client.py, which starts two mocks: a plain one and one with
 * seeded random faults (`--faults ... --fault-rate ... --fault-seed ... --workers 1`).
 * Timings are checked as lower bounds only: the machine may be slow, never fast.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { setupServer } from "msw/node";

import { FAULTS } from "../src/contract-data.js";
import { BadValue } from "../src/faults.js";
import { facematchHandlers } from "../src/handlers.js";
import { pyFormat } from "../src/pyjson.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through tests/test_typescript_client.py`);
  return value;
}

const MOCK_URL = required("FACEMATCH_MOCK_URL");
const SEEDED_URL = required("FACEMATCH_SEEDED_MOCK_URL");
const SEEDED_FAULTS = required("FACEMATCH_SEEDED_FAULTS");
const SEEDED_RATE = Number(required("FACEMATCH_SEEDED_RATE"));
const SEEDED_SEED = Number(required("FACEMATCH_SEEDED_SEED"));
const TOKEN = required("FACEMATCH_TOKEN");
const PHOTO = new Uint8Array(readFileSync(join(required("FACEMATCH_FIXTURES_DIR"), "images", "astronaut_a.jpg")));
const MSW_URL = "http://msw.facematch.test";
const SEEDED_MSW_URL = "http://seeded.facematch.test";
const PATH = "/advanced_facematch";
/** Headers of the transport or of CORS, which the handlers do not send (README.md). */
const NOT_COMPARED = /^(content-length|connection|date|server|keep-alive|transfer-encoding|access-control-.*)$/;

const server = setupServer(
  ...facematchHandlers({ baseUrl: MSW_URL }),
  ...facematchHandlers({ baseUrl: SEEDED_MSW_URL, faults: SEEDED_FAULTS, faultRate: SEEDED_RATE, faultSeed: SEEDED_SEED }),
);
before(() => server.listen({ onUnhandledRequest: "bypass" }));
after(() => server.close());

interface Outcome {
  readonly status: number;
  readonly headers: Array<[string, string]>;
  readonly contentLength: string | null;
  readonly body: Uint8Array | "rejected while reading";
  readonly ms: number;
}

type Result = Outcome | { readonly rejected: string; readonly ms: number };

function photoForm(): FormData {
  const form = new FormData();
  form.append("image1", new Blob([PHOTO]), "photo.jpg");
  return form;
}

async function call(base: string, headers: Record<string, string>, body: BodyInit = photoForm()): Promise<Result> {
  const start = performance.now();
  let response: Response;
  try {
    response = await fetch(base + PATH, { method: "POST", headers: { Authorization: `Bearer ${TOKEN}`, ...headers }, body });
  } catch (error) {
    return { rejected: String(error), ms: performance.now() - start };
  }
  // A correlation id the server made up (none or a bad one was sent) is random on both sides.
  const made = (name: string, value: string): boolean =>
    name === "x-correlation-id" && value !== headers["X-Correlation-ID"] && /^[0-9a-f]{32}$/.test(value);
  const kept = [...response.headers]
    .filter(([name]) => !NOT_COMPARED.test(name))
    .map(([name, value]): [string, string] => [name, made(name, value) ? "(generated)" : value])
    .sort();
  let bytes: Uint8Array | "rejected while reading";
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch {
    bytes = "rejected while reading";
  }
  return { status: response.status, headers: kept, contentLength: response.headers.get("content-length"), body: bytes, ms: performance.now() - start };
}

async function both(headers: Record<string, string>, body?: () => BodyInit): Promise<[Result, Result]> {
  return [await call(MOCK_URL, headers, body?.()), await call(MSW_URL, headers, body?.())];
}

function answered(result: Result, label: string): Outcome {
  assert.ok(!("rejected" in result), `${label}: the fetch was rejected (${"rejected" in result ? result.rejected : ""})`);
  return result;
}

/** Same status, same headers (less transport and CORS), same body bytes. */
function assertIdentical(mock: Result, msw: Result, label: string): Outcome {
  const [a, b] = [answered(mock, `${label} (mock)`), answered(msw, `${label} (MSW)`)];
  assert.equal(b.status, a.status, `${label}: status`);
  assert.deepEqual(b.headers, a.headers, `${label}: headers`);
  assert.deepEqual(b.body, a.body, `${label}: body bytes`);
  if (a.body !== "rejected while reading" && a.contentLength !== null) assert.equal(a.body.length, Number(a.contentLength));
  return a;
}

const ID = { "X-Correlation-ID": "fault-test-1" };
const HTTP_FAULTS = Object.keys(FAULTS.http) as Array<keyof typeof FAULTS.http>;

describe("HTTP-level faults: the mock's status, headers and body bytes", () => {
  test("each of 503, 429, 502, 504", async () => {
    for (const name of HTTP_FAULTS) {
      const [mock, msw] = await both({ ...ID, Prefer: `fault=${name}` });
      const got = assertIdentical(mock, msw, `fault=${name}`);
      assert.equal(got.status, FAULTS.http[name].status);
      assert.equal(new TextDecoder().decode(got.body as Uint8Array), FAULTS.http[name].body);
    }
  });

  test("spelling: case, spaces, quotes, other preferences, several Prefer items", async () => {
    for (const prefer of ['FAULT = "503"', "fault=429; example=both_fake", "example=both_fake, fault=502", "respond-async, fault=504 ,wait=5"]) {
      const [mock, msw] = await both({ ...ID, Prefer: prefer });
      assertIdentical(mock, msw, prefer);
    }
  });

  test("where they sit: after the token and correlation id, before the form", async () => {
    const noToken = { ...ID, Authorization: "", Prefer: "fault=503" };
    assertIdentical(...(await both(noToken)), "fault without a token");
    assertIdentical(...(await both({ "X-Correlation-ID": "has space", Prefer: "fault=503" })), "fault with a bad correlation id");
    const json = (): BodyInit => JSON.stringify({ image1: "x" });
    const [mock, msw] = await both({ ...ID, Prefer: "fault=429", "Content-Type": "application/json" }, json);
    assert.equal(assertIdentical(mock, msw, "fault with a JSON body").status, 429);
    const [unknown, unknownMsw] = await both({ ...ID, Prefer: "fault=503, example=not_there" });
    assert.equal(assertIdentical(unknown, unknownMsw, "fault with an unknown example").status, 503);
  });
});

describe("socket-level faults", () => {
  test("reset and empty: the fetch rejects", async () => {
    for (const name of ["reset", "empty", " Reset "]) {
      const [mock, msw] = await both({ ...ID, Prefer: `fault=${name}` });
      assert.ok("rejected" in mock, `mock, fault=${name}`);
      assert.ok("rejected" in msw, `MSW, fault=${name}`);
    }
  });

  test("a socket fault spoils a refusal too, but not a 401", async () => {
    const json = (): BodyInit => JSON.stringify({ image1: "x" });
    const [mock, msw] = await both({ ...ID, Prefer: "fault=reset", "Content-Type": "application/json" }, json);
    assert.ok("rejected" in mock && "rejected" in msw);
    assertIdentical(...(await both({ ...ID, Authorization: "", Prefer: "fault=reset" })), "reset without a token");
  });

  test("hang: nothing for fault-ms, then the fetch rejects", async () => {
    const [mock, msw] = await both({ ...ID, Prefer: "fault=hang, fault-ms=400" });
    for (const [who, result] of [["mock", mock], ["MSW", msw]] as const) {
      assert.ok("rejected" in result, `${who}: hang should end in a rejection`);
      assert.ok(result.ms >= 395, `${who}: hang lasted ${result.ms} ms`);
    }
  });

  test("slow: the full answer, its last piece after about fault-ms", async () => {
    const faultMs = 600;
    const [plainMock, plainMsw] = await both(ID);
    const plain = assertIdentical(plainMock, plainMsw, "no fault");
    const [mock, msw] = await both({ ...ID, Prefer: `fault=slow, fault-ms=${faultMs}` });
    const slow = assertIdentical(mock, msw, "fault=slow");
    assert.deepEqual(slow.body, plain.body);
    const length = (plain.body as Uint8Array).length;
    const pieces = Math.min(FAULTS.slowPieces, length);
    const chunks = Math.ceil(length / Math.ceil(length / pieces));
    const floor = ((chunks - 1) * faultMs) / pieces - 5;
    for (const [who, result] of [["mock", mock], ["MSW", msw]] as const) {
      assert.ok(result.ms >= floor, `${who}: slow took ${result.ms} ms, under ${floor}`);
    }
  });

  test("truncated: the status and headers, then the body fails", async () => {
    const [mock, msw] = await both({ ...ID, Prefer: "fault=truncated" });
    const [a, b] = [answered(mock, "mock"), answered(msw, "MSW")];
    assert.equal(b.status, a.status);
    assert.deepEqual(b.headers, a.headers);
    assert.equal(a.body, "rejected while reading");
    assert.equal(b.body, "rejected while reading");
  });
});

describe("delays", () => {
  test("MS, LOW-HIGH and tail:MEDIAN-P99 wait at least what they say", async () => {
    for (const [prefer, floor] of [["delay=400", 400], ["delay=300-350", 300], ["delay=tail:300-300", 300], ["DELAY = 1_5_0", 150]] as const) {
      const [mock, msw] = await both({ ...ID, Prefer: prefer });
      assertIdentical(mock, msw, prefer);
      for (const [who, result] of [["mock", mock], ["MSW", msw]] as const) {
        assert.ok(result.ms >= floor - 2, `${who}: ${prefer} took ${result.ms} ms`);
      }
    }
  });

  test("a delay comes with a fault and with a refusal after the Prefer header is read", async () => {
    for (const prefer of ["fault=503, delay=300", "delay=300, example=not_there", "fault=reset, delay=300"]) {
      const [mock, msw] = await both({ ...ID, Prefer: prefer });
      if (prefer.includes("reset")) assert.ok("rejected" in mock && "rejected" in msw, prefer);
      else assertIdentical(mock, msw, prefer);
      assert.ok(mock.ms >= 298 && msw.ms >= 298, `${prefer}: ${mock.ms} / ${msw.ms} ms`);
    }
  });

  test("the handlers' delay option delays every answer, refusals included", async () => {
    const base = "http://slow.facematch.test";
    const slow = setupServer(...facematchHandlers({ baseUrl: base, delay: 300 }));
    server.close();
    slow.listen({ onUnhandledRequest: "error" });
    try {
      for (const headers of [ID, { Authorization: "" }]) {
        const result = await call(base, headers);
        assert.ok(result.ms >= 298, `delay option: ${result.ms} ms`);
      }
      const own = await call(base, { ...ID, Prefer: "delay=500" });
      assert.ok(own.ms >= 498, `Prefer delay over the option: ${own.ms} ms`);
    } finally {
      slow.close();
      server.listen({ onUnhandledRequest: "bypass" });
    }
  });

  test("bad option values are refused with the mock's sentences", () => {
    assert.throws(() => facematchHandlers({ delay: "tail:5" }), new BadValue(pyFormat(FAULTS.delayMessages.tail, { text: "tail:5" })));
    assert.throws(() => facematchHandlers({ delay: 60001 }), BadValue);
    assert.throws(() => facematchHandlers({ faults: "503,nope", faultRate: 0.1 }), /unknown fault nope: choose from 503, 429/);
    assert.throws(() => facematchHandlers({ faults: ["503"], faultRate: 1.5 }), BadValue);
    assert.throws(() => facematchHandlers({ faults: ["503"] }), BadValue);
  });
});

describe("bad values: the mock's 422 bytes", () => {
  test("unknown faults, bad fault-ms, bad delays", async () => {
    const prefers = [
      "fault=nope",
      "fault=",
      'fault="it\'s"',
      "fault=caf\u00e9",
      "fault-ms=x",
      "fault-ms=60001",
      "fault-ms=-1",
      "fault-ms=1.5",
      "fault-ms=",
      "fault=hang, fault-ms=abc",
      "fault=503, fault-ms=1_000",
      "delay=x",
      "delay=",
      "delay=5-1",
      "delay=-5",
      "delay=60001",
      "delay=0-60001",
      "delay=tail:5",
      "delay=tail:1-99999",
      "delay=1-2-3",
      "delay=tail:",
      "delay=9" + "9".repeat(40),
      "fault=nope, delay=x",
      "fault=503, delay=x",
      "fault-ms=x, delay=x",
    ];
    for (const prefer of prefers) {
      const [mock, msw] = await both({ ...ID, Prefer: prefer });
      const got = assertIdentical(mock, msw, prefer);
      assert.equal(got.status, 422, prefer);
    }
  });

  test("values that look odd but are good", async () => {
    for (const prefer of ["fault-ms=5", "fault-ms=60000", "delay=0", "delay=+1", "delay= 0 - 1 ", "delay=TAIL:1-2", "delay=0_0"]) {
      const [mock, msw] = await both({ ...ID, Prefer: prefer });
      assert.equal(assertIdentical(mock, msw, prefer).status, 200, prefer);
    }
  });
});

describe("seeded random faults: the same faults as the mock", () => {
  async function outcome(base: string, headers: Record<string, string>): Promise<string> {
    const result = await call(base, headers);
    if ("rejected" in result) return "rejected";
    return `${result.status} ${result.body === "rejected while reading" ? result.body : new TextDecoder().decode(result.body)}`;
  }

  test("keyed by the request number (one worker, the same sequence of requests)", async () => {
    const seen = new Set<string>();
    for (let i = 1; i <= 24; i += 1) {
      const [mock, msw] = [await outcome(SEEDED_URL, {}), await outcome(SEEDED_MSW_URL, {})];
      assert.equal(msw, mock, `request #${i}`);
      seen.add(mock.slice(0, 3));
    }
    assert.ok(seen.size >= 3, `too few outcomes to tell: ${[...seen]}`);
  });

  test("keyed by the correlation id", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i += 1) {
      const headers = { "X-Correlation-ID": `seeded-${i}` };
      const [mock, msw] = [await outcome(SEEDED_URL, headers), await outcome(SEEDED_MSW_URL, headers)];
      assert.equal(msw, mock, `correlation id seeded-${i}`);
      seen.add(mock.slice(0, 3));
    }
    assert.ok(seen.size >= 3, `too few outcomes to tell: ${[...seen]}`);
  });

  test("a request's own fault or delay wins over the options", async () => {
    for (const base of [SEEDED_URL, SEEDED_MSW_URL]) {
      for (let i = 0; i < 6; i += 1) {
        assert.match(await outcome(base, { "X-Correlation-ID": `own-${i}`, Prefer: "fault=504" }), /^504 /);
      }
    }
  });
});
