/**
 * The MSW handlers alone, under msw/node's setupServer, with no Python mock: the named
 * examples, the token check, the fixtures' canned errors and the contract's rules on the
 * byte-derived answers. (Byte-for-byte agreement with the mock is test/parity.test.ts.)
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { setupServer } from "msw/node";

import { advancedFacematch } from "../src/client.js";
import { AUTH, ERRORS, EXAMPLES, FIXTURES, type ScenarioName } from "../src/contract-data.js";
import { facematchHandlers } from "../src/handlers.js";
import { pyFormat } from "../src/pyjson.js";

const BASE = "http://facematch.test/api";
const FIXTURES_DIR = new URL("../../../fixtures/", import.meta.url).pathname;
const server = setupServer(...facematchHandlers({ baseUrl: BASE, auth: { mode: "any" } }));
before(() => server.listen({ onUnhandledRequest: "error" }));
after(() => server.close());

/** Bytes that pass the handlers' checks (a JPEG signature, inside the size window). */
function jpegLike(seed: number): Uint8Array {
  const bytes = new Uint8Array(1500);
  bytes.set([0xff, 0xd8, 0xff]);
  for (let i = 3; i < bytes.length; i += 1) bytes[i] = (seed * 7919 + i * 104729) % 251;
  return bytes;
}

test("each named example comes back as written in the contract", async () => {
  for (const scenario of Object.keys(EXAMPLES) as ScenarioName[]) {
    const answer = await advancedFacematch({ baseUrl: BASE, token: "t", image1: jpegLike(1), scenario });
    assert.equal(answer.status, EXAMPLES[scenario].status, scenario);
    assert.equal(answer.text, EXAMPLES[scenario].body, scenario);
  }
});

test("a missing token is refused before the body is looked at", async () => {
  const answer = await advancedFacematch({ baseUrl: BASE, image1: new Uint8Array(0) });
  assert.equal(answer.status, 401);
  assert.deepEqual(answer.body, { msg: ERRORS.token_missing.template });
});

test("jwt mode checks the HS256 signature with the development secret", async () => {
  const strict = setupServer(...facematchHandlers({ baseUrl: "http://strict.test" }));
  server.close();
  strict.listen({ onUnhandledRequest: "error" });
  try {
    const forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const answer = await advancedFacematch({ baseUrl: "http://strict.test", token: forged, image1: jpegLike(2) });
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { msg: ERRORS.token_invalid.template });
    assert.equal(AUTH.algorithm, "HS256");
  } finally {
    strict.close();
    server.listen({ onUnhandledRequest: "error" });
  }
});

test("fixtures with a canned error get the mock's message", async () => {
  for (const fixture of Object.values(FIXTURES)) {
    if (!("error" in fixture) || fixture.error !== "no_face") continue;
    const image1 = new Uint8Array(readFileSync(join(FIXTURES_DIR, fixture.file)));
    const answer = await advancedFacematch({ baseUrl: BASE, token: "t", image1 });
    assert.equal(answer.status, 400, fixture.file);
    assert.deepEqual(answer.body, { msg: pyFormat(ERRORS.no_face.template, { field: "image1" }) });
  }
});

test("byte-derived answers keep the contract's rules", async () => {
  for (let seed = 0; seed < 60; seed += 1) {
    const two = seed % 2 === 1;
    const answer = await advancedFacematch({ baseUrl: BASE, token: "t", image1: jpegLike(seed), image2: two ? jpegLike(seed + 1000) : undefined });
    assert.equal(answer.status, 200);
    if (answer.status !== 200) continue;
    const { image1, image2, image1_image2_facematch: match, overall_result, overall_confidence } = answer.body;
    if (image1.result === "fake") assert.equal(image1.confidence, 0); // LIVE-1
    if (!two) assert.deepEqual(image2, { input_provided: "False", result: "N/A", confidence: null, prediction_confidence: null }); // ONE-1
    const passed = image1.result === "real" && (!two || (image2.result === "real" && match.result === "True"));
    assert.equal(overall_result, passed ? "True" : "False"); // OVR-1
    if (!passed) assert.equal(overall_confidence, 0); // OVR-2
    else assert.ok(overall_confidence > 0 && overall_confidence <= 100); // OVR-3
  }
});
