/**
 * Processes run as another user: uid and gid 65534 ("nobody"), no supplementary groups, for the
 * tests of what a stranger on the host gets (SO_PEERCRED refusals, file-mode denials, per-uid
 * defaults). Needs root.
 *
 * That uid cannot be assumed to read the checkout (a clone in a private home or a `mktemp -d`
 * has a 0700 parent), so what its processes run comes from a copy readable by everyone: made on
 * first use in os.tmpdir() (or another directory all users can search), holding only what runs
 * there — package.json, dist/src/**.js, the runtime dependencies from node_modules and the
 * native addon (≈4.6 MB, 270 files) — and removed by an afterAll of the test file. Copying
 * measured 40-90 ms idle.
 *
 *   const other = otherUser();            // at the top level of a test file: registers the afterAll
 *   itAsOtherUser('refuses nobody', async () => {
 *     const r = await other.run([other.bin('ctl'), 'status', '--socket', sock]);
 *     const p = other.start(['-e', `require(${JSON.stringify(other.path('dist', 'src', 'protocol'))}); ...`]);
 *   });
 *
 * When processes cannot run as another user here (not root, say), `itAsOtherUser` and
 * `describeAsOtherUser` skip, saying why in the test's name and in one line on stderr; itUnless
 * and describeUnless do the same for any other reason a test cannot run here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Proc, ROOT, cleanEnv, run, type RunResult } from './processes';

/** The uid and gid the other user's processes run as. */
export const NOBODY = 65534;

const COPY_PREFIX = 'kes-other-user-';

/** True when every directory from / down to `dir` can be searched by a user who is neither its owner nor in its group. */
function searchableByOthers(dir: string): boolean {
  let p = path.resolve(dir);
  for (;;) {
    try {
      if ((fs.statSync(p).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    const up = path.dirname(p);
    if (up === p) return true;
    p = up;
  }
}

/** Where the readable copy goes: the first candidate every user can reach. */
function copyBase(): string | undefined {
  const candidates = [...new Set([os.tmpdir(), '/tmp', '/var/tmp', '/dev/shm'])];
  return candidates.find((d) => fs.existsSync(d) && searchableByOthers(d));
}

function whyNot(): string | undefined {
  const uid = process.getuid?.();
  if (uid !== 0) return `needs root to start a process as uid ${NOBODY} (this is uid ${uid ?? 'unknown'})`;
  if ((fs.statSync(process.execPath).mode & 0o001) === 0 || !searchableByOthers(path.dirname(process.execPath))) {
    return `uid ${NOBODY} cannot execute ${process.execPath}`;
  }
  if (copyBase() === undefined) return `no temp directory that uid ${NOBODY} can search (${os.tmpdir()}, /tmp, /var/tmp, /dev/shm)`;
  return undefined;
}

/** Why processes cannot run as another user here; undefined when they can. */
export const OTHER_USER_SKIP_REASON: string | undefined = whyNot();

const warned = new Set<string>();

/**
 * `it`, or, when `skipReason` is given, `it.skip` with the reason in the test's name and printed
 * once per file: a test that cannot run here is never skipped silently.
 */
export function itUnless(skipReason: string | undefined): (name: string, fn: jest.ProvidesCallback, timeout?: number) => void {
  return (name, fn, timeout) => {
    if (skipReason === undefined) return it(name, fn, timeout);
    warnSkip(skipReason);
    it.skip(`${name} [SKIPPED: ${skipReason}]`, fn, timeout);
  };
}

/** One line on stderr per reason and file (the skipped tests' names carry it too). */
function warnSkip(reason: string): void {
  if (warned.has(reason)) return;
  warned.add(reason);
  const file = expect.getState().testPath;
  process.stderr.write(`${file === undefined ? '' : `${path.relative(ROOT, file)}: `}skipping tests: ${reason}\n`);
}

/** `it`, or, when no process can run as another user here, `it.skip` saying why (see itUnless). */
export const itAsOtherUser = itUnless(OTHER_USER_SKIP_REASON);

/** `describe`, or `describe.skip` the same way as itUnless. */
export function describeUnless(skipReason: string | undefined): (name: string, fn: () => void) => void {
  return (name, fn) => {
    if (skipReason === undefined) return describe(name, fn);
    warnSkip(skipReason);
    describe.skip(`${name} [SKIPPED: ${skipReason}]`, fn);
  };
}

/** `describe`, or `describe.skip` saying why, as itAsOtherUser. */
export const describeAsOtherUser = describeUnless(OTHER_USER_SKIP_REASON);

/** Runtime dependencies (package.json `dependencies`, recursively) as directories under node_modules. */
function runtimePackages(): string[] {
  const dirs = new Set<string>();
  const visit = (from: string): void => {
    const pkg = JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      // Node's lookup: a package's own node_modules first (copied along with it), then the top level.
      if (from !== ROOT && fs.existsSync(path.join(from, 'node_modules', name))) continue;
      const dir = path.join(ROOT, 'node_modules', name);
      if (!fs.existsSync(dir)) throw new Error(`otherUser: ${name} (a dependency of ${from}) is not in ${path.join(ROOT, 'node_modules')}: run npm ci`);
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      visit(dir);
    }
  };
  visit(ROOT);
  return [...dirs];
}

/** Copy a tree with modes everyone can read (dirs 0755, files 0644 or 0755), skipping what `keep` refuses. */
function copyReadable(from: string, to: string, keep: (name: string) => boolean = () => true): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  fs.chmodSync(to, 0o755);
  for (const entry of fs.readdirSync(from)) {
    if (!keep(entry)) continue;
    const src = path.join(from, entry);
    const dst = path.join(to, entry);
    const st = fs.statSync(src); // follows symlinks: the copy holds the files themselves
    if (st.isDirectory()) {
      copyReadable(src, dst, keep);
    } else if (st.isFile()) {
      fs.copyFileSync(src, dst);
      fs.chmodSync(dst, (st.mode & 0o111) !== 0 ? 0o755 : 0o644);
    }
  }
}

/** Type declarations and source maps: never loaded at runtime. */
const notDeclarations = (name: string): boolean => !/\.d\.[cm]?ts$|\.map$/.test(name);

/** Make the readable copy; returns its root. */
function makeCopy(): string {
  const base = copyBase();
  if (base === undefined) throw new Error(`otherUser: ${OTHER_USER_SKIP_REASON ?? 'no searchable temp directory'}`);
  const root = fs.mkdtempSync(path.join(base, COPY_PREFIX));
  try {
    fs.chmodSync(root, 0o755);
    const dist = path.join(ROOT, 'dist', 'src');
    if (!fs.existsSync(dist)) throw new Error(`otherUser: ${dist} is missing: run npm run build first`);
    // package.json marks the package root: the addon and the version are found from it.
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
    fs.chmodSync(path.join(root, 'package.json'), 0o644);
    copyReadable(dist, path.join(root, 'dist', 'src'), notDeclarations);
    for (const dir of runtimePackages()) copyReadable(dir, path.join(root, path.relative(ROOT, dir)), notDeclarations);
    const addon = path.join(ROOT, 'build', 'Release', 'kes_native.node');
    if (fs.existsSync(addon)) {
      fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(root, 'build'), 0o755);
      fs.chmodSync(path.join(root, 'build', 'Release'), 0o755);
      fs.copyFileSync(addon, path.join(root, 'build', 'Release', 'kes_native.node'));
      fs.chmodSync(path.join(root, 'build', 'Release', 'kes_native.node'), 0o755);
    }
    // What KES_AGENT_CONFIG names for these processes (cleanEnv's own file is private to root).
    fs.writeFileSync(path.join(root, 'empty.toml'), '', { mode: 0o644 });
    return root;
  } catch (e) {
    fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

export interface OtherUserSpawnOptions {
  /** Default: cleanEnv() with KES_AGENT_CONFIG at an empty file in the copy. */
  env?: NodeJS.ProcessEnv;
}

/** Node processes run as the other user from the readable copy. */
export class OtherUser {
  private root: string | undefined;

  /** `uid` and `gid` (default nobody) must not be root's or this process's. */
  constructor(readonly uid: number = NOBODY, readonly gid: number = uid) {}

  /** How long making the copy took, in ms (undefined until it is made). */
  copyMs: number | undefined;

  /** The copy's root, made on first use. */
  get dir(): string {
    if (this.root === undefined) {
      const t0 = Date.now();
      this.root = makeCopy();
      this.copyMs = Date.now() - t0;
    }
    return this.root;
  }

  /** A path in the copy, e.g. path('dist', 'src', 'protocol') for an inline script's require(). */
  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** A built binary in the copy, like processes.ts's BIN. */
  bin(name: 'cold' | 'agent' | 'ctl' | 'node'): string {
    return this.path('dist', 'src', 'bin', `kes-${name}.js`);
  }

  private as(opts: OtherUserSpawnOptions): { env: NodeJS.ProcessEnv; cwd: string; uid: number; gid: number } {
    if (OTHER_USER_SKIP_REASON !== undefined) throw new Error(`otherUser: ${OTHER_USER_SKIP_REASON}`);
    return { env: opts.env ?? cleanEnv({ KES_AGENT_CONFIG: this.path('empty.toml') }), cwd: this.dir, uid: this.uid, gid: this.gid };
  }

  /** Run `node <args>` as the other user to completion. */
  run(args: string[], opts: OtherUserSpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
    const [first = '', ...rest] = args;
    return run(first, rest, { ...this.as(opts), ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }) });
  }

  /** Start `node <args>` as the other user; the caller stops it (finally { await p.stop() }). */
  start(args: string[], opts: OtherUserSpawnOptions = {}): Proc {
    const [first = '', ...rest] = args;
    const { env, ...as } = this.as(opts);
    return new Proc(first, rest, env, as);
  }

  /** Remove the copy (afterAll does this). */
  dispose(): void {
    if (this.root !== undefined) fs.rmSync(this.root, { recursive: true, force: true });
    this.root = undefined;
  }
}

/**
 * The other user for this test file. Call it at the top level of the file: the copy is made on
 * first use and removed by an afterAll, whether the tests passed or not.
 */
export function otherUser(uid: number = NOBODY): OtherUser {
  const u = new OtherUser(uid);
  afterAll(() => u.dispose());
  return u;
}
