// Fails when committed generated files are stale: gen/ must equal a fresh `buf generate`, and
// drizzle/ must hold a migration for every change of src/store/schema.ts, in journal order.
// Works in temporary directories: the working tree is never modified.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const problems = [];
const bin = (name) => path.resolve("node_modules/.bin", name);
// buf finds its local plugin (protoc-gen-es) on PATH, as it does under `npm run`.
const env = {
  ...process.env,
  PATH: `${path.resolve("node_modules/.bin")}${path.delimiter}${process.env.PATH}`,
};

function listFiles(dir, base = dir) {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? listFiles(full, base) : [path.relative(base, full)];
  });
}

function compareTrees(expected, actual, label) {
  const want = new Set(listFiles(expected));
  const have = new Set(listFiles(actual));
  for (const file of want) {
    if (!have.has(file)) problems.push(`${label}: ${file} is missing`);
    else if (
      !readFileSync(path.join(expected, file)).equals(readFileSync(path.join(actual, file)))
    ) {
      problems.push(`${label}: ${file} differs from what the generator writes`);
    }
  }
  for (const file of have) if (!want.has(file)) problems.push(`${label}: ${file} is not generated`);
}

const scratch = mkdtempSync(path.join(tmpdir(), "check-generated-"));
try {
  execFileSync(bin("buf"), ["generate", "-o", scratch], { stdio: "inherit", env });
  compareTrees(path.join(scratch, "gen"), "gen", "gen/ (run: npm run generate)");

  const migrations = path.join(scratch, "drizzle");
  cpSync("drizzle", migrations, { recursive: true });
  execFileSync(
    bin("drizzle-kit"),
    ["generate", "--dialect", "postgresql", "--schema", "src/store/schema.ts", "--out", migrations],
    {
      stdio: "pipe",
    },
  );
  compareTrees(migrations, "drizzle", "drizzle/ (run: npm run db:generate)");

  // drizzle's migrator skips a migration older than the newest applied one.
  const journal = JSON.parse(readFileSync("drizzle/meta/_journal.json", "utf8"));
  journal.entries.forEach((entry, i) => {
    const previous = journal.entries[i - 1];
    if (previous && entry.when <= previous.when) {
      problems.push(`drizzle/meta/_journal.json: ${entry.tag} is not newer than ${previous.tag}`);
    }
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`generated files are stale:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log("gen/ and drizzle/ are up to date");
