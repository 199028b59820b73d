/**
 * Bearer-token checks as the Python mock makes them (ERR-2), with Web Crypto.
 *
 * Mirrors `mock_server/auth.py` (PyJWT HS256, leeway 5 s): missing header, wrong scheme or
 * empty token, a token that is not three segments (malformed), a bad signature or a
 * header/payload that does not decode (invalid), `nbf` in the future, `exp` in the past.
 * In `any` mode every non-empty bearer token passes.
 */

import { AUTH } from "./contract-data.js";
import type { ErrorKindName } from "./contract-data.js";

export type AuthMode = "jwt" | "any";

export interface AuthOptions {
  readonly mode?: AuthMode;
  readonly secret?: string;
  /** Seconds since the epoch; the clock is read per request when absent. */
  readonly now?: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function base64UrlBytes(segment: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return null;
  const padded = segment.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((segment.length + 3) % 4);
  try {
    return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

function jsonObject(segment: string): Record<string, unknown> | null {
  const bytes = base64UrlBytes(segment);
  if (bytes === null) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** The 401 kind for this Authorization header, or null when the token is accepted. */
export async function authProblem(authorization: string | null, options: AuthOptions = {}): Promise<ErrorKindName | null> {
  if (!authorization) return "token_missing";
  const trimmed = authorization.trim();
  const space = trimmed.indexOf(" ");
  const scheme = space < 0 ? trimmed : trimmed.slice(0, space);
  const token = space < 0 ? "" : trimmed.slice(space + 1).trim();
  if (scheme.toLowerCase() !== "bearer" || !token) return "token_malformed";
  if ((options.mode ?? "jwt") === "any") return null;
  const segments = token.split(".");
  if (segments.length !== 3) return "token_malformed";
  const [headerText, payloadText, signatureText] = segments;
  const header = jsonObject(headerText);
  const signature = base64UrlBytes(signatureText);
  if (header === null || signature === null || header.alg !== AUTH.algorithm) return "token_invalid";
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(options.secret ?? AUTH.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const signed = await crypto.subtle.verify("HMAC", key, signature, encoder.encode(`${headerText}.${payloadText}`));
  if (!signed) return "token_invalid";
  const claims = jsonObject(payloadText);
  if (claims === null) return "token_invalid";
  const now = options.now ? options.now() : Date.now() / 1000;
  for (const claim of ["iat", "nbf", "exp"] as const) {
    if (claim in claims && !isNumber(claims[claim])) return "token_invalid";
  }
  if (isNumber(claims.nbf) && claims.nbf > now + AUTH.leewaySeconds) return "token_not_yet_valid";
  if (isNumber(claims.exp) && claims.exp <= now - AUTH.leewaySeconds) return "token_expired";
  return null;
}
