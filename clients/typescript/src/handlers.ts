/**
 * MSW request handlers that answer POST /advanced_facematch in the page or in Node tests,
 * the way the Python mock does (see answer.ts), so a frontend's unit tests need no server.
 *
 *   import { setupWorker } from "msw/browser";      // or setupServer from "msw/node"
 *   import { facematchHandlers } from "@facematch-kit/typescript-client/handlers";
 *   setupWorker(...facematchHandlers()).start();
 *
 * They honour `Prefer: fault=NAME, fault-ms=N, delay=SPEC` as the mock does, as far as MSW
 * can deliver it: the HTTP-level faults byte for byte, `reset`/`empty` as a network error,
 * `hang` as silence for fault-ms then a network error, `slow` as the answer's body streamed
 * over fault-ms, `truncated` as half the body then a stream error (README.md, "Faults and
 * delays").
 */

import { http, HttpResponse, type HttpHandler } from "msw";

import { deliver, type Delivery } from "./answer.js";
import type { AuthOptions } from "./auth.js";
import { CORRELATION_HEADER, FAULTS, OPERATION_PATH, SERVER_PREFIXES } from "./contract-data.js";
import { BadValue, faultPolicy, parseDelay, type Delay, type FaultName, type FaultPolicy } from "./faults.js";

export interface HandlerOptions {
  /** Origin (and any mount prefix) to answer for; every origin when absent. */
  readonly baseUrl?: string;
  /** Token checks: HS256 with the mock's development secret by default. */
  readonly auth?: AuthOptions;
  /**
   * Latency of every answer, refusals included, like the mock's `--latency`: milliseconds,
   * or `"LOW-HIGH"` (uniform), or `"tail:MEDIAN-P99"` (log-normal). A request's own
   * `Prefer: delay=` wins. 0 means none.
   */
  readonly delay?: number | string;
  /** Faults to draw from, like `--faults` (`["503", "reset"]` or `"503,reset"`); with `faultRate`. */
  readonly faults?: readonly FaultName[] | string;
  /** The probability that a request meets one of `faults`, like `--fault-rate` (0 to 1). */
  readonly faultRate?: number;
  /**
   * Makes the draws a function of the seed and the request's `X-Correlation-ID` (else its
   * number, 1, 2, ... from these handlers' creation), like `--fault-seed`: the same seed
   * and ids meet the same faults here and in the mock.
   */
  readonly faultSeed?: number;
}

/** The operation's URL patterns: at the root and under each server prefix of the contract. */
export function operationUrls(baseUrl?: string): string[] {
  if (baseUrl === undefined) return [`*${OPERATION_PATH}`];
  const base = baseUrl.replace(/\/+$/, "");
  return SERVER_PREFIXES.map((prefix) => `${base}${prefix}${OPERATION_PATH}`);
}

function latencyOption(delay: number | string | undefined): Delay | null {
  if (delay === undefined) return null;
  const parsed = parseDelay(String(delay));
  return parsed.highMs === 0 ? null : parsed;
}

function policyOption(options: HandlerOptions): FaultPolicy | null {
  const { faults, faultRate, faultSeed } = options;
  if (faults === undefined && faultRate === undefined) {
    if (faultSeed !== undefined) throw new BadValue("faultSeed needs faults and faultRate");
    return null;
  }
  if (faults === undefined || faultRate === undefined) throw new BadValue("faults and faultRate go together");
  return faultPolicy(faults, faultRate, faultSeed ?? null);
}

/** Resolves after `ms` milliseconds, or at once when the request is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** The mock's `slow`: the body in at most slowPieces pieces, one every fault-ms / pieces. */
function slowBody(bytes: Uint8Array, durationMs: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  const pieces = Math.max(1, Math.min(FAULTS.slowPieces, bytes.length));
  const size = Math.max(1, Math.ceil(bytes.length / pieces));
  const interval = durationMs / pieces;
  let start = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (start > 0) await sleep(interval, signal);
      controller.enqueue(bytes.slice(start, start + size));
      start += size;
      if (start >= bytes.length) controller.close();
    },
  });
}

/** The mock's `truncated`: half the body, then the stream fails as a closed connection does. */
function truncatedBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, Math.floor(bytes.length / 2)));
      controller.error(new TypeError("terminated: the connection closed before the body was complete (fault=truncated)"));
    },
  });
}

async function respond(delivery: Delivery, signal: AbortSignal): Promise<Response> {
  await sleep(delivery.delayMs, signal);
  const headers = new Headers(delivery.headers.map(([name, value]): [string, string] => [name, value]));
  headers.set("Content-Type", delivery.contentType);
  headers.set(CORRELATION_HEADER, delivery.correlationId);
  const init = { status: delivery.status, headers };
  const bytes = new TextEncoder().encode(delivery.body);
  switch (delivery.fault) {
    case "reset":
    case "empty":
      return HttpResponse.error();
    case "hang":
      await sleep(delivery.faultMs, signal);
      return HttpResponse.error();
    case "slow":
      return new HttpResponse(slowBody(bytes, delivery.faultMs, signal), init);
    case "truncated":
      headers.set("Connection", "close");
      return new HttpResponse(truncatedBody(bytes), init);
    case null:
      return new HttpResponse(delivery.body, init);
  }
}

export function facematchHandlers(options: HandlerOptions = {}): HttpHandler[] {
  const latency = latencyOption(options.delay);
  const policy = policyOption(options);
  let calls = 0;
  const settings = { auth: options.auth, latency, policy, nextCall: () => (calls += 1) };
  return operationUrls(options.baseUrl).map((url) =>
    http.post(url, async ({ request }) => respond(await deliver(request, settings), request.signal)),
  );
}

export { answer, deliver, type Answer, type Delivery } from "./answer.js";
export { BadValue, type FaultName } from "./faults.js";
