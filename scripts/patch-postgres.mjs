// Mends a defect of postgres.js 3.4.9 (porsager/postgres#1154, #1208; fixes proposed in
// #1168, #1209, not released): when a connection closes while a small write waits for its
// setImmediate, the timer is cleared but not forgotten. The connection's later writes then
// wait for a flush that never comes (their calls hang), or `nextWrite` runs with no socket
// and throws from a timer, which ends the process. test/integration/faults.test.ts
// terminates backends under load and fails without this (reproduced with the bare driver
// too). Run by `npm install` (postinstall); idempotent; refuses to guess if the code changed.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MARK = "/* customer-inventory: nextWrite guard */";
const root = fileURLToPath(new URL("../node_modules/postgres", import.meta.url));
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

const replacements = [
  [
    "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n",
    "    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n",
  ],
];

for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
  const target = path.join(root, file);
  let text = readFileSync(target, "utf8");
  if (text.includes(MARK)) continue;
  for (const [from, to] of replacements) {
    if (!text.includes(from)) {
      console.error(
        `patch-postgres: postgres ${version} ${file} no longer has the code this patch mends; check whether the release fixes porsager/postgres#1208 and remove scripts/patch-postgres.mjs if so`,
      );
      process.exit(1);
    }
    text = text.replaceAll(from, to);
  }
  writeFileSync(target, text);
  console.log(`patch-postgres: guarded nextWrite in postgres ${version} ${file}`);
}
