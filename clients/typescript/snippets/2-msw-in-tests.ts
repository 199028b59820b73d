// MSW in unit tests (msw/node); in the browser use setupWorker from "msw/browser" instead.
import { setupServer } from "msw/node";
import { facematchHandlers } from "@facematch-kit/typescript-client/handlers";

const server = setupServer(...facematchHandlers({ baseUrl: "https://api.example.test" }));
server.listen();

const form = new FormData();
form.append("image1", new Blob([new Uint8Array(2048)]), "me.jpg");
const response = await fetch("https://api.example.test/advanced_facematch", { method: "POST", body: form });
console.log(response.status, (await response.json()).msg);
server.close();
