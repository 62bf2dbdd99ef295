// Mends six defects of postgres.js 3.4.9 (for some, fixes are proposed upstream but not
// released). Run by `npm install` (postinstall); idempotent (each patch leaves a mark);
// refuses to guess if the code changed.
//
// 1. Write scheduler (porsager/postgres#1154, #1208; fixes proposed in #1168, #1209): when a
//    connection closes while a small write waits for its setImmediate, the timer is cleared
//    but not forgotten. The connection's later writes then wait for a flush that never comes
//    (their calls hang), or `nextWrite` runs with no socket and throws from a timer, which ends
//    the process. test/integration/faults.test.ts terminates backends under load and fails
//    without this (reproduced with the bare driver too).
// 2. Transaction reservation (porsager/postgres#1189, #1210; fixes proposed in #1211, #1218):
//    `sql.begin()` reserves its connection in a hook that `execute()` skips whenever the
//    connection's pipeline is full. BEGIN has then been sent but the connection goes back to
//    the pool, and other calls' statements run inside the transaction. With `max_pipeline: 0`
//    (what the service uses behind PgBouncer) every transaction fails with UNSAFE_TRANSACTION;
//    with the default of 100 it happens at the boundary. The hook now runs whenever the
//    query was written, and the reserved connection still takes no other work.
//    test/integration/pgbouncer.test.ts fails without this.
// 3. Cancelling a statement not yet sent (reported here first): `execute()` skips a cancelled
//    query and reports the connection full, and a transaction's queue waits for a
//    ReadyForQuery that never comes. The connection stays reserved and the transaction never
//    settles (its ROLLBACK waits forever): a call cancelled at the wrong moment took a pool
//    connection for good. Skipping a cancelled query now leaves the connection as it was,
//    and a transaction's queue passes over cancelled queries.
//    test/integration/postgres-driver.test.ts fails without this.
// 4. A cancel that comes too early (reported here first): PostgreSQL cancels only the
//    statement a backend is running when the CancelRequest arrives; one that arrives before
//    the statement does cancels nothing, and `query.cancel()` refused to send another. A
//    statement of a call whose deadline had passed then ran on (blocked on a lock, say) until
//    statement_timeout, holding its pool connection. `query.cancel()` may now be repeated;
//    src/store/db.ts repeats it a few times while the statement has not ended.
//    test/integration/faults.test.ts "10,000 calls ..." failed about one run in two without it.
// 5. A reconnect that skips target_session_attrs (../shared/research/ha-cluster.md, reported
//    here first): when a socket closes after an error arrived for its running statement (57P01
//    as a primary goes down) but before ReadyForQuery, the connection keeps that statement and
//    error. On reconnect, the first ReadyForQuery hands the stale error to the statement that
//    asked for the connection and skips the primary check: the connection stays on a standby,
//    failing writes with 25006 until max_lifetime. A (re)connect now starts with no statement.
//    test/integration/ha-cluster.test.ts "reconnects to the primary ..." fails without it.
// 6. A connection that must reach the primary but is read-only (a guard behind 5): a statement
//    that fails with 25006 (read_only_sql_transaction) on a connection opened with
//    target_session_attrs primary or read-write retires the connection once it is idle, so the
//    next statement reconnects and checks again; src/store/db.ts retries such a write once.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../node_modules/postgres", import.meta.url));
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

const patches = [
  {
    file: "connection.js",
    mark: "/* customer-inventory: nextWrite guard */",
    issue: "porsager/postgres#1208",
    replacements: (mark) => [
      [
        "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
        `  function nextWrite(fn) {\n    ${mark}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
      ],
      [
        "    clearImmediate(nextWriteTimer)\n",
        "    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n",
      ],
    ],
  },
  {
    file: "connection.js",
    mark: "/* customer-inventory: reserve before pipelining */",
    issue: "porsager/postgres#1210",
    replacements: (mark) => [
      [
        "      return write(toBuffer(q))\n        && !q.describeFirst\n        && !q.cursorFn\n        && sent.length < max_pipeline\n        && (!q.options.onexecute || q.options.onexecute(connection))\n",
        // A reserved connection takes no more of the pool's work: false, as the hook's
        // undefined made the chain before.
        `      ${mark}\n      const written = write(toBuffer(q))\n      if (q.options.onexecute)\n        return q.options.onexecute(connection), false\n      return written\n        && !q.describeFirst\n        && !q.cursorFn\n        && sent.length < max_pipeline\n`,
      ],
    ],
  },
  {
    file: "connection.js",
    mark: "/* customer-inventory: a skipped query sends nothing */",
    issue: "cancelling an unsent query",
    replacements: (mark) => [
      ["    if (q.cancelled)\n      return\n", `    if (q.cancelled) ${mark}\n      return true\n`],
    ],
  },
  {
    file: "index.js",
    mark: "/* customer-inventory: pass over cancelled queries */",
    issue: "cancelling an unsent query",
    replacements: (mark) => [
      [
        "      c.reserved = () => queries.length\n        ? c.execute(queries.shift())\n        : move(c, reserved)\n",
        `      c.reserved = () => { ${mark}\n        let q\n        while (queries.length && (q = queries.shift()).cancelled) q = null\n        return q ? c.execute(q) : move(c, reserved)\n      }\n`,
      ],
    ],
  },
  {
    file: "query.js",
    mark: "/* customer-inventory: a cancel may be repeated */",
    issue: "a cancel that comes too early",
    replacements: (mark) => [
      [
        "  cancel() {\n    return this.canceller && (this.canceller(this), this.canceller = null)\n  }\n",
        `  cancel() { ${mark}\n    return this.canceller && this.canceller(this)\n  }\n`,
      ],
    ],
  },
  {
    file: "connection.js",
    mark: "/* customer-inventory: a reconnect starts clean */",
    issue: "a reconnect that skips target_session_attrs",
    replacements: (mark) => [
      [
        "  async function connect() {\n    terminated = false\n    backendParameters = {}\n",
        `  async function connect() { ${mark}\n    terminated = false\n    backendParameters = {}\n    query = results = errorResponse = null\n    result = new Result()\n    retireReadOnly = false\n`,
      ],
    ],
  },
  {
    file: "connection.js",
    mark: "/* customer-inventory: retire a read-only connection */",
    issue: "a read-only connection that must reach the primary",
    replacements: (mark) => [
      ["    , hostIndex = 0\n", "    , hostIndex = 0\n    , retireReadOnly = false\n"],
      [
        "      errorResponse = Errors.postgres(parseError(x))\n",
        `      errorResponse = Errors.postgres(parseError(x))\n      ${mark}\n      errorResponse.code === '25006' && (target_session_attrs === 'primary' || target_session_attrs === 'read-write') && (retireReadOnly = true)\n`,
      ],
      // Out of the pool's queues first (as end() does), so that no statement is handed to it
      // while it closes; closing puts it back among the closed ones, to reconnect.
      [
        "        ? ending\n          ? terminate()\n",
        "        ? ending || retireReadOnly\n          ? (ending || onend(connection), terminate())\n",
      ],
      [
        "      : ending\n        ? terminate()\n",
        "      : ending || retireReadOnly\n        ? (ending || onend(connection), terminate())\n",
      ],
    ],
  },
];

for (const file of [
  "src/connection.js",
  "cjs/src/connection.js",
  "src/index.js",
  "cjs/src/index.js",
  "src/query.js",
  "cjs/src/query.js",
]) {
  const target = path.join(root, file);
  let text = readFileSync(target, "utf8");
  for (const { mark, issue, replacements } of patches.filter((p) => file.endsWith(p.file))) {
    if (text.includes(mark)) continue;
    for (const [from, to] of replacements(mark)) {
      if (!text.includes(from)) {
        console.error(
          `patch-postgres: postgres ${version} ${file} no longer has the code this patch mends; check whether the release fixes ${issue} and drop that patch from scripts/patch-postgres.mjs if so`,
        );
        process.exit(1);
      }
      text = text.replaceAll(from, to);
    }
    console.log(`patch-postgres: ${issue} mended in postgres ${version} ${file}`);
  }
  writeFileSync(target, text);
}
