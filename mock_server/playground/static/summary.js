// The human summary of one answer: per photo real/fake with its score, the match with its
// confidence, the overall verdict; for an error, its message and what to do about it.
// Returns data ({tone, items: [{key, label, text}]}); single.js turns it into elements.

function score(value) {
  return value === null || value === undefined ? "no score" : `score ${value}`;
}

function photo(block, index) {
  const label = `Photo ${index}`;
  if (!block || typeof block !== "object") return { key: `image${index}`, label, text: "missing from the answer" };
  if (block.input_provided !== "True") return { key: `image${index}`, label, text: "not sent" };
  if (block.result === "real") return { key: `image${index}`, label, text: `real, ${score(block.confidence)}` };
  if (block.result === "fake") {
    const raw = block.prediction_confidence === null || block.prediction_confidence === undefined
      ? "" : ` (score before the fake rule: ${block.prediction_confidence})`;
    return { key: `image${index}`, label, text: `fake (a presentation attack), ${score(block.confidence)}${raw}` };
  }
  return { key: `image${index}`, label, text: `result ${JSON.stringify(block.result)}` };
}

function match(block) {
  const label = "Face match";
  if (!block || typeof block !== "object") return { key: "match", label, text: "missing from the answer" };
  if (block.performed !== "True") return { key: "match", label, text: "not performed (one photo)" };
  if (block.result === "True") return { key: "match", label, text: `same person, confidence ${block.confidence}` };
  if (block.result === "False") return { key: "match", label, text: `different people, confidence ${block.confidence}` };
  return { key: "match", label, text: `result ${JSON.stringify(block.result)}` };
}

const ADVICE = {
  400: "Send a JPEG, PNG or WebP photo between 1 KB and 10 MB that shows one clear face.",
  401: "The token was refused: paste a valid token (for this mock: facematch token, or facematch token --jwt-secret SECRET when the server has its own secret).",
  404: "Nothing answers at this URL: check the base URL and the operation path.",
  405: "This URL does not take a POST: check the operation path.",
  413: "The request is too large: each photo must be at most 10 MB.",
  422: "The request is not the operation as the contract describes it: choose image1, and check the other fields and the scenario name.",
  429: "The server is busy: try again in a moment.",
};

function errorMessage(body) {
  if (body && typeof body === "object") {
    if (typeof body.msg === "string") return body.msg;
    if (typeof body.message === "string") return body.message;
    if (body.detail !== undefined) return JSON.stringify(body.detail);
  }
  return null;
}

/** Summary of an HTTP answer; body is the parsed JSON or null. */
export function summarize(status, body) {
  if (status >= 200 && status < 300 && body && typeof body === "object" && "overall_result" in body) {
    const passed = body.overall_result === "True";
    return {
      tone: passed ? "ok" : "fail",
      items: [
        {
          key: "verdict",
          label: "Verdict",
          text: `${passed ? "passed" : "not passed"} (overall_result ${body.overall_result}, overall confidence ${body.overall_confidence})`,
        },
        photo(body.image1, 1),
        photo(body.image2, 2),
        match(body.image1_image2_facematch),
      ],
    };
  }
  const message = errorMessage(body);
  const advice = ADVICE[status] || (status >= 500
    ? "The server failed: the contract never allows a 5xx, so report it to the implementation's owner."
    : "See the JSON body for details.");
  const items = [{ key: "error", label: `Error ${status}`, text: message || (body === null ? "the answer is not JSON" : "no message") }];
  items.push({ key: "advice", label: "What to do", text: advice });
  return { tone: "error", items };
}

/** Summary when the browser could not get an answer at all (network, CORS). */
export function unreachable(url, crossOrigin) {
  const items = [{ key: "error", label: "No answer", text: `the browser could not read an answer from ${url}` }];
  items.push({
    key: "advice",
    label: "What to do",
    text: crossOrigin
      ? "Check that the server runs and that it allows this page's origin by CORS (Access-Control-Allow-Origin, and the headers Authorization, Prefer and X-Correlation-ID); the browser hides the reason from the page."
      : "Check that the server is running and the base URL is right.",
  });
  return { tone: "error", items };
}

/**
 * Summary when the answer is an HTML page (a gateway in front of the API, e.g. a 502 or 504).
 * pageText is the page's text, never its markup: the page is not rendered.
 */
export function htmlPage(status, pageText) {
  const items = [
    { key: "error", label: `Error ${status}`, text: "a gateway answered with an HTML page (text/html), not the API's JSON" },
    { key: "page", label: "Page text", text: pageText || "(no text)" },
    {
      key: "advice",
      label: "What to do",
      text: "A client must check the Content-Type before it parses JSON, and treat a gateway's page as a temporary failure.",
    },
  ];
  return { tone: "error", items };
}

/** Summary when the status and headers came but the body broke off (the connection closed). */
export function cutOff(status, received, announced) {
  const of = announced ? ` of the ${announced} bytes announced by Content-Length` : " bytes";
  return {
    tone: "error",
    items: [
      { key: "error", label: `HTTP ${status}, cut off`, text: `the body broke off: the page could read ${received}${of}` },
      {
        key: "advice",
        label: "What to do",
        text: "Reading the body rejects (a TypeError in fetch): a client must treat a body it cannot read as a failed call, not as an empty answer.",
      },
    ],
  };
}

/** Summary when a fault that spoils the connection was asked for and no whole answer came. */
export function networkFailure(outcome, asked, gaveUpAfter) {
  const stopped = gaveUpAfter === null ? "" : `; the page stopped waiting after ${gaveUpAfter} ms`;
  return {
    tone: "error",
    items: [
      { key: "network", label: "Network failure", text: `${outcome}${stopped} (as asked with ${asked})` },
      {
        key: "advice",
        label: "What your client sees",
        text: gaveUpAfter === null
          ? "fetch rejects with a TypeError (\"Failed to fetch\"), and the browser does not tell the page why: a client shows a network error and may try again."
          : "Nothing, until its own time limit fires (here an AbortController): a client needs a time limit to get out of a hang.",
      },
    ],
  };
}
