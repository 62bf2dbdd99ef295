// buf breaking (FILE rules, buf.yaml) for proto/: against HEAD while proto/ has uncommitted
// changes, else against the commit before HEAD, so that a fresh clone in CI checks the last
// change to the API. Works offline: the baseline comes from this repository's own .git.
import { execFileSync } from "node:child_process";
import path from "node:path";

const git = (...args) => execFileSync("git", args, { encoding: "utf8" }).trim();
const dirty = git("status", "--porcelain", "--", "proto") !== "";
let ref = "HEAD";
if (!dirty) {
  try {
    ref = git("rev-parse", "--verify", "--quiet", "HEAD~1");
  } catch {
    console.log("buf breaking: HEAD has no parent commit here; nothing to compare proto/ with");
    process.exit(0);
  }
}
execFileSync(
  path.resolve("node_modules/.bin/buf"),
  ["breaking", "proto", "--against", `.git#ref=${ref},subdir=proto`],
  { stdio: "inherit" },
);
console.log(
  `buf breaking: proto/ has no breaking change against ${dirty ? "HEAD" : ref.slice(0, 12)}`,
);
