/**
 * MSW request handlers that answer POST /advanced_facematch in the page or in Node tests,
 * the way the Python mock does (see answer.ts), so a frontend's unit tests need no server.
 *
 *   import { setupWorker } from "msw/browser";      // or setupServer from "msw/node"
 *   import { facematchHandlers } from "@facematch-kit/typescript-client/handlers";
 *   setupWorker(...facematchHandlers()).start();
 */

import { http, HttpResponse, type HttpHandler } from "msw";

import { answer } from "./answer.js";
import type { AuthOptions } from "./auth.js";
import { CORRELATION_HEADER, OPERATION_PATH, SERVER_PREFIXES } from "./contract-data.js";

export interface HandlerOptions {
  /** Origin (and any mount prefix) to answer for; every origin when absent. */
  readonly baseUrl?: string;
  /** Token checks: HS256 with the mock's development secret by default. */
  readonly auth?: AuthOptions;
}

/** The operation's URL patterns: at the root and under each server prefix of the contract. */
export function operationUrls(baseUrl?: string): string[] {
  if (baseUrl === undefined) return [`*${OPERATION_PATH}`];
  const base = baseUrl.replace(/\/+$/, "");
  return SERVER_PREFIXES.map((prefix) => `${base}${prefix}${OPERATION_PATH}`);
}

export function facematchHandlers(options: HandlerOptions = {}): HttpHandler[] {
  return operationUrls(options.baseUrl).map((url) =>
    http.post(url, async ({ request }) => {
      const result = await answer(request, options.auth);
      return new HttpResponse(result.body, {
        status: result.status,
        headers: { "Content-Type": "application/json", [CORRELATION_HEADER]: result.correlationId },
      });
    }),
  );
}

export { answer, type Answer } from "./answer.js";
