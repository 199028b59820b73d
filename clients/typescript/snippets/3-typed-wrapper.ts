// The typed wrapper: the answer is a union on `status`, each body typed from openapi.yaml.
import { readFile } from "node:fs/promises";
import { advancedFacematch } from "@facematch-kit/typescript-client";

const answer = await advancedFacematch({
  baseUrl: process.env.FACEMATCH_URL ?? "http://127.0.0.1:8080",
  token: process.env.FACEMATCH_TOKEN,
  image1: await readFile(process.env.PHOTO ?? "me.jpg"),
});
if (answer.status === 200) {
  console.log(answer.status, answer.body.image1.result, answer.body.image1.confidence);
} else {
  console.log(answer.status, answer.status === 422 ? answer.body.detail.error : answer.body.msg);
}
