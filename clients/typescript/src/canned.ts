/**
 * The Python mock's canned engine and response builder, restated for the browser.
 *
 * Mirrors `mock_server/engines/canned.py` and `mock_server/rules.py`: fixture images (by
 * SHA-256) get their manifest outcome, any other image an outcome derived from its digest,
 * and the outcome is turned into the contract's fixed shape. The bytes of the answer must be
 * the mock's, so the arithmetic follows Python's (see pyjson.ts for rounding and repr).
 */

import { FIXTURES } from "./contract-data.js";
import { pyRound, type PyJson } from "./pyjson.js";

export type LivenessResult = "real" | "fake";

export interface Liveness {
  readonly result: LivenessResult;
  readonly score: number;
}

export interface Match {
  readonly matched: boolean;
  readonly confidence: number;
}

export interface Outcome {
  readonly image1: Liveness;
  readonly second?: { readonly image2: Liveness; readonly match: Match };
}

export type Fixture = (typeof FIXTURES)[keyof typeof FIXTURES];

const encoder = new TextEncoder();

export async function sha256(data: Uint8Array<ArrayBuffer> | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function hex(digest: Uint8Array): string {
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function fixtureFor(sha256Hex: string): Fixture | undefined {
  return (FIXTURES as Record<string, Fixture>)[sha256Hex];
}

/** low, low+0.1, ..., low+(steps-1)/10, picked by digest bytes 1-2 (exact like Python's round). */
function spread(digest: Uint8Array, low: number, steps: number): number {
  const pick = ((digest[1] << 8) | digest[2]) % steps;
  return (Math.round(low * 10) + pick) / 10;
}

export function derivedLiveness(digest: Uint8Array): Liveness {
  if (digest[0] % 5 === 0) return { result: "fake", score: spread(digest, 5.0, 400) };
  return { result: "real", score: spread(digest, 80.0, 200) };
}

export async function derivedMatch(sha1: string, sha2: string, samePerson: boolean | null): Promise<Match> {
  const digest = await sha256(`match:${sha1}:${sha2}`);
  const same = samePerson ?? (sha1 === sha2 || digest[0] % 3 !== 0);
  if (same) return { matched: true, confidence: spread(digest, 70.0, 300) };
  return { matched: false, confidence: spread(digest, 5.0, 400) };
}

export function samePerson(first: Fixture | undefined, second: Fixture | undefined): boolean | null {
  if (!first?.person || !second?.person) return null;
  return first.person === second.person;
}

const score = (value: number): number => pyRound(value, 2);

function imageBlock(liveness: Liveness): { [key: string]: PyJson } {
  const predicted = score(liveness.score);
  return {
    input_provided: "True",
    result: liveness.result,
    confidence: liveness.result === "real" ? predicted : 0.0,
    prediction_confidence: predicted,
  };
}

/** OVR-3: the geometric mean of the active gates' confidences, two decimals, in (0, 100]. */
function overallConfidence(confidences: number[]): number {
  const mean = Math.exp(confidences.reduce((sum, value) => sum + Math.log(value), 0) / confidences.length);
  return Math.min(100.0, Math.max(0.01, score(mean)));
}

/** SHAPE-1 / ONE-1 / TWO-1 / OVR-1..3, keys in the mock's order. */
export function build(outcome: Outcome): { [key: string]: PyJson } {
  const gates: Array<[boolean, number]> = [[outcome.image1.result === "real", outcome.image1.score]];
  if (outcome.second) {
    gates.push([outcome.second.image2.result === "real", outcome.second.image2.score]);
    gates.push([outcome.second.match.matched, outcome.second.match.confidence]);
  }
  const passed = gates.every(([ok]) => ok);
  return {
    image1: imageBlock(outcome.image1),
    image2: outcome.second
      ? imageBlock(outcome.second.image2)
      : { input_provided: "False", result: "N/A", confidence: null, prediction_confidence: null },
    image1_image2_facematch: outcome.second
      ? {
          performed: "True",
          result: outcome.second.match.matched ? "True" : "False",
          confidence: score(outcome.second.match.confidence),
        }
      : { performed: "False", result: "N/A", confidence: null },
    overall_result: passed ? "True" : "False",
    overall_confidence: passed ? overallConfidence(gates.map(([, c]) => c)) : 0.0,
  };
}
