/**
 * The MSW handlers against the real Python mock: the same requests, made with the same typed
 * wrapper, must get the same status and the same body bytes from both.
 *
 * Driven by tests/test_typescript_client.py, which starts the mock (gunicorn), writes the
 * generated images and the float cases, and passes their places in environment variables.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { setupServer } from "msw/node";

import { advancedFacematch, type FacematchAnswer, type FacematchRequest } from "../src/client.js";
import { EXAMPLES, FIXTURES, type ScenarioName } from "../src/contract-data.js";
import { facematchHandlers } from "../src/handlers.js";
import { pyFloat, pyRepr, pyRound } from "../src/pyjson.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through tests/test_typescript_client.py`);
  return value;
}

const MOCK_URL = required("FACEMATCH_MOCK_URL");
const TOKEN = required("FACEMATCH_TOKEN");
const EXPIRED_TOKEN = required("FACEMATCH_EXPIRED_TOKEN");
const FOREIGN_TOKEN = required("FACEMATCH_FOREIGN_TOKEN");
const IMAGES_DIR = required("FACEMATCH_IMAGES_DIR");
const FIXTURES_DIR = required("FACEMATCH_FIXTURES_DIR");
const PY_CASES = JSON.parse(readFileSync(required("FACEMATCH_PY_CASES"), "utf-8")) as PyCases;
const MSW_URL = "http://msw.facematch.test";

interface PyCases {
  floats: Array<[number, string]>;
  rounds: Array<[number, number]>;
  reprs: Array<[string, string]>;
}

const server = setupServer(...facematchHandlers({ baseUrl: MSW_URL }));
before(() => server.listen({ onUnhandledRequest: "bypass" }));
after(() => server.close());

type Call = Omit<FacematchRequest, "baseUrl">;

async function both(call: Call): Promise<[FacematchAnswer, FacematchAnswer]> {
  return [await advancedFacematch({ ...call, baseUrl: MOCK_URL }), await advancedFacematch({ ...call, baseUrl: MSW_URL })];
}

async function assertSame(call: Call, label: string): Promise<FacematchAnswer> {
  const [mock, msw] = await both(call);
  assert.equal(msw.status, mock.status, `${label}: status (mock body ${mock.text})`);
  assert.equal(msw.text, mock.text, `${label}: body`);
  return mock;
}

async function rawSame(path: string, init: RequestInit, label: string): Promise<void> {
  const mock = await fetch(MOCK_URL + path, init);
  const msw = await fetch(MSW_URL + path, init);
  const [mockText, mswText] = [await mock.text(), await msw.text()];
  assert.equal(msw.status, mock.status, `${label}: status (mock body ${mockText})`);
  assert.equal(mswText, mockText, `${label}: body`);
}

const fixtureFiles = Object.values(FIXTURES).map((fixture) => fixture.file);
const fixtureBytes = fixtureFiles.map((file) => new Uint8Array(readFileSync(join(FIXTURES_DIR, file))));
const generated = readdirSync(IMAGES_DIR)
  .sort()
  .map((name) => new Uint8Array(readFileSync(join(IMAGES_DIR, name))));

describe("Python number and string formatting", () => {
  test("repr(float)", () => {
    for (const [value, text] of PY_CASES.floats) assert.equal(pyFloat(value), text, `repr(${text})`);
  });
  test("round(x, 2)", () => {
    for (const [value, rounded] of PY_CASES.rounds) assert.equal(pyRound(value, 2), rounded, `round(${value}, 2)`);
  });
  test("repr(str)", () => {
    for (const [value, text] of PY_CASES.reprs) assert.equal(pyRepr(value), text, `repr(${JSON.stringify(value)})`);
  });
});

describe("MSW handlers and the Python mock give the same bytes", () => {
  test("every fixture alone and paired with the next one", async () => {
    assert.ok(fixtureBytes.length > 10);
    const statuses = new Set<number>();
    for (const [i, image1] of fixtureBytes.entries()) {
      statuses.add((await assertSame({ image1, token: TOKEN }, fixtureFiles[i])).status);
      const j = (i + 1) % fixtureBytes.length;
      await assertSame({ image1, image2: fixtureBytes[j], token: TOKEN }, `${fixtureFiles[i]} + ${fixtureFiles[j]}`);
      await assertSame({ image1: fixtureBytes[j], image2: image1, token: TOKEN }, `${fixtureFiles[j]} + ${fixtureFiles[i]}`);
    }
    assert.deepEqual([...statuses].sort(), [200, 400]);
  });

  test(`${generated.length} generated images, alone, in pairs and twice`, async () => {
    assert.equal(generated.length, 200);
    const results = new Set<string>();
    for (const [i, image1] of generated.entries()) {
      const call: Call = i % 2 === 0 ? { image1, token: TOKEN } : { image1, image2: generated[i - 1], token: TOKEN };
      const answer = await assertSame(call, `generated image ${i}`);
      if (answer.status === 200) results.add(`${answer.body.image1.result}/${answer.body.image1_image2_facematch.result}`);
    }
    await assertSame({ image1: generated[0], image2: generated[0], token: TOKEN }, "the same image twice");
    // The derivation's branches were all reached: real and fake, match and mismatch.
    for (const seen of ["real/N/A", "fake/N/A", "real/True", "real/False"]) assert.ok(results.has(seen), seen);
  });

  test("every named example, and unknown ones", async () => {
    for (const scenario of Object.keys(EXAMPLES) as ScenarioName[]) {
      const answer = await assertSame({ image1: generated[1], scenario, token: TOKEN }, scenario);
      assert.equal(answer.status, EXAMPLES[scenario].status);
    }
    const init = (prefer: string): RequestInit => ({
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, Prefer: prefer },
      body: form([["image1", generated[1]]]),
    });
    await rawSame("/advanced_facematch", init("example=faces_mismatch"), "Prefer example");
    await rawSame("/advanced_facematch", init("code=401"), "Prefer code");
    await rawSame("/advanced_facematch", init("code=299"), "Prefer unknown code");
    await rawSame("/advanced_facematch", init('example="it\'s_not_there"'), "Prefer unknown example");
    await rawSame("/advanced_facematch?__example=n%C3%A4me%0A%22", init(""), "unknown example, non-ASCII name");
    await rawSame("/sumi/v1/advanced_facematch?__example=one_image_fake", init(""), "gateway prefix");
  });

  test("tokens: missing, malformed, foreign, expired", async () => {
    await assertSame({ image1: generated[1] }, "no token");
    await assertSame({ image1: generated[1], token: "not-a-jwt" }, "malformed token");
    await assertSame({ image1: generated[1], token: FOREIGN_TOKEN }, "token signed with another secret");
    await assertSame({ image1: generated[1], token: EXPIRED_TOKEN }, "expired token");
    await rawSame("/advanced_facematch", { method: "POST", headers: { Authorization: "Basic abc" } }, "wrong scheme");
  });

  test("forms the operation refuses (422) and images it cannot use (400)", async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const post = (body: BodyInit, headers: Record<string, string> = {}): RequestInit => ({ method: "POST", headers: { ...auth, ...headers }, body });
    await rawSame("/advanced_facematch", post(JSON.stringify({ image1: "x" }), { "Content-Type": "application/json" }), "JSON body");
    await rawSame("/advanced_facematch", post(form([["image2", generated[1]]])), "no image1");
    await rawSame("/advanced_facematch", post(form([["image1", generated[1]], ["image3", generated[2]]])), "unknown field");
    await rawSame("/advanced_facematch", post(form([["image1", generated[1]], ["image1", generated[2]]])), "duplicate field");
    await rawSame("/advanced_facematch", post(form([["image1", generated[1]], ["unique_id", "u".repeat(129)]])), "long unique_id");
    await rawSame("/advanced_facematch", post(form([["image1", generated[1]]]), { "X-Correlation-ID": "has space" }), "bad correlation id");
    await assertSame({ image1: generated[1], uniqueId: "order-42", correlationId: "trace-1", token: TOKEN }, "unique_id and correlation id");
    await assertSame({ image1: new Uint8Array(0), token: TOKEN }, "empty image");
    await assertSame({ image1: generated[1].slice(0, 700), token: TOKEN }, "under the size window");
    await assertSame({ image1: new TextEncoder().encode("not an image ".repeat(100)), token: TOKEN }, "not an image");
    await assertSame({ image1: generated[1], image2: new Uint8Array(2000), token: TOKEN }, "image2 zeros");
  });
});

function form(parts: Array<[string, Uint8Array<ArrayBuffer> | string]>): FormData {
  const data = new FormData();
  for (const [name, value] of parts) {
    if (typeof value === "string") data.append(name, value);
    else data.append(name, new Blob([value]), `${name}.bin`);
  }
  return data;
}
