// `npm test`: everything, in order — build (so e2e tests what ships), typecheck (tsc + svelte-check),
// the layering check, unit/integration tests (vitest) and end-to-end tests (Playwright in Debian's
// Chromium). Prints one closing line "tests: N passed, N failed, N skipped" and exits non-zero if
// any step failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });
const only = process.argv.slice(2); // e.g. `npm test -- unit` or `npm test -- e2e`
const want = (step) => only.length === 0 || only.includes(step);

let passed = 0, failed = 0, skipped = 0;
const failures = [];

function step(name, cmd, args, env = {}) {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env }, shell: process.platform === 'win32' });
  console.log(`=== ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status})`} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  if (r.status !== 0) failures.push(name);
  return r.status === 0;
}

const npx = 'npx';
if (!existsSync(join(root, 'native', 'build', 'Release', 'cdx_native.node'))) step('build native', 'npm', ['run', 'build:native']);
if (want('e2e') || want('build')) step('build', 'npm', ['run', 'build']);

if (want('typecheck')) {
  if (step('typecheck (tsc)', npx, ['tsc', '--noEmit', '-p', 'tsconfig.json'])) passed++;
  else failed++;
  if (step('typecheck (svelte-check)', npx, ['svelte-check', '--tsconfig', './tsconfig.json', '--threshold', 'error', '--fail-on-warnings'])) passed++;
  else failed++;
}
if (want('layers')) {
  if (step('layering check', process.execPath, [join('scripts', 'check-layers.mjs')])) passed++;
  else failed++;
}

function readJson(p) {
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
}

if (want('unit')) {
  const out = join(artifacts, 'vitest.json');
  rmSync(out, { force: true });
  const ok = step('unit tests (vitest)', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`]);
  const j = readJson(out);
  if (j) {
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    skipped += j.numPendingTests + (j.numTodoTests ?? 0);
    if (!ok && j.numFailedTests === 0) failed++; // e.g. an error outside any test
  } else if (!ok) failed++;
}

// Fuzzing (native/fuzz/, scripts/fuzz.mjs): every regression input replayed, then each native
// target fuzzed for CDX_FUZZ_SECONDS (default 30) under AddressSanitizer + UBSan. Skipped, saying
// so, without clang/libFuzzer (CI installs them and sets CDX_FUZZ_REQUIRED=1). The TypeScript
// parsers' fuzz tests run with the unit tests above.
if (want('fuzz')) {
  if (step('fuzzing (libFuzzer, ASan + UBSan)', process.execPath, [join('scripts', 'fuzz.mjs'), '--no-js', '--seconds', process.env.CDX_FUZZ_SECONDS ?? '30'])) passed++;
  else failed++;
}

if (want('e2e')) {
  const out = join(artifacts, 'report.json');
  rmSync(out, { force: true });
  const ok = step('end-to-end tests (Playwright, Chromium)', npx, ['playwright', 'test', '-c', 'e2e/playwright.config.ts']);
  const j = readJson(out);
  if (j?.stats) {
    passed += j.stats.expected + (j.stats.flaky ?? 0);
    failed += j.stats.unexpected;
    skipped += j.stats.skipped;
    if (!ok && j.stats.unexpected === 0) failed++;
  } else if (!ok) failed++;
}

console.log(`\nScreenshots and reports: ${artifacts}`);
if (failures.length) console.log(`Failed steps: ${failures.join(', ')}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failures.length || failed ? 1 : 0);
