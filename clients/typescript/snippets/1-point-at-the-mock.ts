// Plain fetch against a running mock (`facematch serve`), asking for a named scenario.
import { readFile } from "node:fs/promises";

const MOCK = process.env.FACEMATCH_URL ?? "http://127.0.0.1:8080";
const TOKEN = process.env.FACEMATCH_TOKEN; // `facematch token` prints one

const form = new FormData();
form.append("image1", new Blob([await readFile(process.env.PHOTO ?? "me.jpg")]), "me.jpg");
const response = await fetch(`${MOCK}/advanced_facematch?__example=faces_mismatch`, {
  method: "POST",
  headers: { Authorization: `Bearer ${TOKEN}` },
  body: form,
});
const body = await response.json();
console.log(`faces_mismatch: overall ${body.overall_result}`);
