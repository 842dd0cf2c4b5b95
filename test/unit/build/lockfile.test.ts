/**
 * package-lock.json against package.json, as `npm ci` (npm 11 and 12) reads
 * them, with no network: the lock's root entry must repeat package.json's
 * dependency ranges (npm ci refuses a lock out of sync with package.json), each
 * range must be met by the version locked at node_modules/<name>, and every
 * dependency and optional dependency of every locked package must have an entry
 * of its own where Node's resolution finds it (its own node_modules/ or an
 * ancestor's). The last is what broke: the lock listed unrs-resolver's optional
 * platform bindings only for linux-x64, and npm 11's npm ci failed ("Missing:
 * @unrs/resolver-binding-... from lock file") — npm wants every platform's entry
 * even when it installs none of them.
 *
 * The checks are plain functions on the two JSON files; the last tests feed them
 * a damaged copy to show they catch what they should.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');

interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  link?: boolean;
  resolved?: string;
}
interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  packages: Record<string, Manifest>;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as T;

const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/** The entry Node would load for `name` required from the package at `from` ('' is the root), or undefined. */
function resolveEntry(lock: Lock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

type Version = [number, number, number];
function parseVersion(v: string): Version | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether `version` meets `range`, for the range forms package.json uses
 * (^x.y.z, ~x.y.z, x.y.z, >=x.y.z); undefined for any other form, which the
 * test reports so that this function is extended rather than the check skipped.
 */
function satisfies(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  const m = /^(\^|~|>=|=)?\s*(\d+\.\d+\.\d+)$/.exec(range.trim());
  if (!v || !m) return undefined;
  const r = parseVersion(m[2]) as Version;
  if (cmp(v, r) < 0) return false;
  switch (m[1]) {
    case '^':
      // ^0.y.z allows patch updates only within 0.y; ^x.y.z (x > 0) within x
      return r[0] > 0 ? v[0] === r[0] : r[1] > 0 ? v[0] === 0 && v[1] === r[1] : v[0] === 0 && v[1] === 0 && v[2] === r[2];
    case '~':
      return v[0] === r[0] && v[1] === r[1];
    case '>=':
      return true;
    default:
      return cmp(v, r) === 0;
  }
}

/** What makes `npm ci` refuse this lock for this package.json (empty: nothing). */
function lockProblems(pkg: Manifest, lock: Lock): string[] {
  const problems: string[] = [];
  const top = lock.packages[''];
  if (lock.lockfileVersion < 2) problems.push(`lockfileVersion ${lock.lockfileVersion}: npm 7+ writes 3 (2 at least)`);
  if (!top) return [...problems, 'no root entry packages[""]'];
  for (const f of ['name', 'version'] as const) {
    if (lock[f] !== pkg[f] || top[f] !== pkg[f]) problems.push(`${f}: package.json has ${pkg[f]}, the lock ${lock[f]} / ${top[f]}`);
  }
  for (const field of DEP_FIELDS) {
    const want = pkg[field] ?? {};
    const have = top[field] ?? {};
    for (const name of new Set([...Object.keys(want), ...Object.keys(have)])) {
      if (want[name] !== have[name]) {
        problems.push(`${field}.${name}: package.json has ${want[name] ?? '(none)'}, the lock's root entry ${have[name] ?? '(none)'}`);
      }
    }
    for (const [name, range] of Object.entries(want)) {
      const entry = lock.packages[`node_modules/${name}`];
      if (!entry) {
        if (field !== 'optionalDependencies') problems.push(`${field}.${name}: no node_modules/${name} entry`);
        continue;
      }
      if (entry.link) continue;
      const ok = satisfies(entry.version ?? '', range);
      if (ok === undefined) problems.push(`${field}.${name}: cannot check range '${range}' against ${entry.version} (extend satisfies())`);
      else if (!ok) problems.push(`${field}.${name}: locked ${entry.version} does not satisfy ${range}`);
    }
  }
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key) continue;
    if (!entry.link && !entry.version) problems.push(`${key}: no version`);
    if (entry.link) {
      if (!entry.resolved || !lock.packages[entry.resolved]) problems.push(`${key}: a link to ${entry.resolved}, which has no entry`);
      continue;
    }
    const needs: Array<[string, string]> = [
      ...Object.keys(entry.dependencies ?? {}).map((d): [string, string] => ['dependency', d]),
      ...Object.keys(entry.optionalDependencies ?? {}).map((d): [string, string] => ['optional dependency', d]),
      ...Object.keys(entry.peerDependencies ?? {})
        .filter((d) => !entry.peerDependenciesMeta?.[d]?.optional)
        .map((d): [string, string] => ['peer dependency', d]),
    ];
    for (const [kind, dep] of needs) {
      if (!resolveEntry(lock, key, dep)) problems.push(`${key}: ${kind} ${dep} has no node_modules/${dep} entry where Node would find it`);
    }
  }
  return problems;
}

const pkg = readJson<Manifest>('package.json');
const lock = readJson<Lock>('package-lock.json');

describe('package-lock.json', () => {
  test('is in sync with package.json and complete for npm ci (every platform\'s optional bindings included)', () => {
    expect(lockProblems(pkg, lock)).toEqual([]);
  });

  test('locks a version for each of package.json\'s dependencies and dev dependencies', () => {
    const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(lock.packages[`node_modules/${name}`]?.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('the checks catch', () => {
  const copy = (): Lock => JSON.parse(JSON.stringify(lock)) as Lock;

  test('a missing optional platform binding (the breakage of the old lock)', () => {
    const damaged = copy();
    const [owner, binding] = Object.entries(damaged.packages)
      .flatMap(([key, e]) => Object.keys(e.optionalDependencies ?? {}).map((d) => [key, d] as const))
      .find(([key, d]) => resolveEntry(damaged, key, d)) as readonly [string, string];
    delete damaged.packages[resolveEntry(damaged, owner, binding) as string];
    expect(lockProblems(pkg, damaged)).toContain(`${owner}: optional dependency ${binding} has no node_modules/${binding} entry where Node would find it`);
  });

  test('a dev dependency range changed in package.json but not in the lock', () => {
    const changed: Manifest = { ...pkg, devDependencies: { ...pkg.devDependencies, typescript: '^6.0.0' } };
    const problems = lockProblems(changed, lock);
    expect(problems).toContain(`devDependencies.typescript: package.json has ^6.0.0, the lock's root entry ${pkg.devDependencies?.typescript}`);
    expect(problems.some((p) => /^devDependencies\.typescript: locked .* does not satisfy \^6\.0\.0$/.test(p))).toBe(true);
  });

  test('a dependency added to package.json only', () => {
    const added: Manifest = { ...pkg, dependencies: { ...pkg.dependencies, 'left-pad': '^1.3.0' } };
    expect(lockProblems(added, lock)).toEqual(
      expect.arrayContaining([
        "dependencies.left-pad: package.json has ^1.3.0, the lock's root entry (none)",
        'dependencies.left-pad: no node_modules/left-pad entry',
      ]),
    );
  });

  test('ranges: ^, ~, exact and >=', () => {
    expect([satisfies('8.5.1', '^8.5.0'), satisfies('9.0.0', '^8.5.0'), satisfies('8.4.9', '^8.5.0')]).toEqual([true, false, false]);
    expect([satisfies('0.33.4', '^0.33.0'), satisfies('0.34.0', '^0.33.0')]).toEqual([true, false]);
    expect([satisfies('5.9.3', '~5.9.3'), satisfies('5.10.0', '~5.9.3')]).toEqual([true, false]);
    expect([satisfies('1.2.3', '1.2.3'), satisfies('1.2.4', '1.2.3'), satisfies('20.1.0', '>=20.0.0')]).toEqual([true, false, true]);
    expect(satisfies('1.2.3', '1.x || 2.x')).toBeUndefined();
  });
});
