// `npm run fuzz`: builds the libFuzzer harnesses of native/fuzz/ (clang++, AddressSanitizer,
// UndefinedBehaviorSanitizer; native/fuzz/build.sh), replays every regression input of
// native/fuzz/regressions/<target>/ (each a crash found once, fixed since) and the seeds, then
// fuzzes each target for a bounded time; then runs the TypeScript parsers' fuzz tests (the NPY
// header and Arrow metadata readers, which exist only in TypeScript) for the same time.
//
//   npm run fuzz                          30 s per target (what `npm test` runs)
//   npm run fuzz -- --seconds 600         longer, on demand
//   npm run fuzz -- --targets csv         some native targets only (csv, columns)
//   npm run fuzz -- --replay              regressions and seeds only, no fuzzing
//   npm run fuzz -- --no-js               skip the TypeScript fuzz tests
//
// Without clang or libFuzzer the native part says so and is skipped (exit 0), unless
// CDX_FUZZ_REQUIRED=1 (.ci/run sets it and installs clang and libclang-rt-NN-dev). A crash leaves
// its input in native/build/fuzz/crashes/<target>/ and fails: copy it to
// native/fuzz/regressions/<target>/ under a name saying what it reproduces, fix the cause, rerun.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = join(root, 'native', 'fuzz');
const outDir = join(root, 'native', 'build', 'fuzz');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const seconds = Number(opt('--seconds', process.env.CDX_FUZZ_SECONDS ?? '30'));
if (!Number.isFinite(seconds) || seconds < 0) {
  console.error('fuzz: --seconds must be a number >= 0');
  process.exit(2);
}
const replayOnly = argv.includes('--replay') || seconds === 0;
const allTargets = readdirSync(fuzzDir).filter((f) => f.endsWith('_fuzz.cc')).map((f) => f.slice(0, -'_fuzz.cc'.length)).sort();
const targets = opt('--targets', '') ? opt('--targets', '').split(',') : allTargets;
for (const t of targets) {
  if (!allTargets.includes(t)) {
    console.error(`fuzz: no target "${t}" (have: ${allTargets.join(', ')})`);
    process.exit(2);
  }
}
const required = process.env.CDX_FUZZ_REQUIRED === '1';
const failures = [];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: opts.quiet ? 'pipe' : 'inherit', encoding: 'utf8', ...opts });
  return r;
}

const inputs = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => join(dir, f)) : []);

// ---------------------------------------------------------------------------------------------
// Native targets
const build = run('bash', [join(fuzzDir, 'build.sh'), ...targets], { quiet: true });
process.stdout.write(build.stdout ?? '');
if (build.status === 77) {
  const why = (build.stderr ?? '').trim();
  if (required) failures.push(`native fuzzing unavailable: ${why}`);
  console.log(`fuzz: native targets skipped: ${why}`);
} else if (build.status !== 0) {
  process.stderr.write(build.stderr ?? '');
  failures.push('native fuzz build');
} else {
  for (const t of targets) {
    const bin = join(outDir, t);
    const crashes = join(outDir, 'crashes', t);
    const corpus = join(outDir, 'corpus', t);
    mkdirSync(crashes, { recursive: true });
    mkdirSync(corpus, { recursive: true });
    const common = ['-timeout=10', '-rss_limit_mb=2048', '-max_len=4096', `-artifact_prefix=${crashes}/`];
    // every regression input and seed, once each (a file argument runs it and nothing else)
    const replay = [...inputs(join(fuzzDir, 'regressions', t)), ...inputs(join(fuzzDir, 'seeds', t))];
    if (replay.length) {
      const r = run(bin, [...common, ...replay], { quiet: true, timeout: 300_000 });
      const ok = r.status === 0;
      console.log(`fuzz: ${t}: replayed ${replay.length} regression and seed inputs: ${ok ? 'ok' : 'FAILED'}`);
      if (!ok) {
        process.stderr.write((r.stderr ?? '').split('\n').slice(-40).join('\n'));
        failures.push(`${t} replay`);
        continue;
      }
    }
    if (replayOnly) continue;
    // new inputs go to the working corpus (ignored by git); the seeds are read only
    const t0 = Date.now();
    const r = run(bin, [...common, `-max_total_time=${seconds}`, '-print_final_stats=1', corpus, join(fuzzDir, 'seeds', t)], {
      quiet: true,
      timeout: (seconds + 120) * 1000,
    });
    const err = r.stderr ?? '';
    const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(err)?.[1] ?? '?';
    const cov = [...err.matchAll(/cov: (\d+)/g)].pop()?.[1] ?? '?';
    if (r.status === 0) {
      console.log(`fuzz: ${t}: ${runs} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s, coverage ${cov} edges, no crash`);
    } else {
      process.stderr.write(err.split('\n').filter((l) => !/^#\d+|NEW_FUNC|Uses: /.test(l)).slice(-60).join('\n') + '\n');
      const found = inputs(crashes);
      console.log(`fuzz: ${t}: CRASH (exit ${r.status ?? r.signal}); input(s) in ${crashes}: ${found.map((f) => f.slice(crashes.length + 1)).join(', ')}`);
      console.log(`fuzz: copy it to native/fuzz/regressions/${t}/ under a name saying what it reproduces, fix the cause, rerun`);
      failures.push(`${t} fuzzing`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TypeScript parsers (NPY header, Arrow metadata): vitest, each test mutating its seeds for the
// time given
if (!argv.includes('--no-js') && !replayOnly && !opt('--targets', '')) {
  const r = run('npx', ['vitest', 'run', 'main/engine/columns/fuzz.test.ts'], {
    env: { ...process.env, CDX_FUZZ_SECONDS: String(seconds) },
    timeout: (seconds * 4 + 300) * 1000,
  });
  if (r.status !== 0) failures.push('TypeScript parser fuzzing');
}

if (failures.length) {
  console.log(`fuzz: FAILED: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('fuzz: ok');
