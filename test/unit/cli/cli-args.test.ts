/**
 * xrbd without a cluster: the command line (specs, flags, usage errors),
 * exit codes, and the tables, JSON and progress made from plain data.
 */
import { Writable } from 'node:stream';
import { constants } from 'node:os';

import { EXIT, UsageError, helpText, parseCommandLine, parseImageSpec, parsePoolSpec, parseSize, type Command } from '../../../lib/cli/args';
import { ConnectError, exitCodeFor, keyringSecrets, main } from '../../../lib/cli/commands';
import {
  Progress,
  drReportJson,
  formatDrEvent,
  formatDrReport,
  formatImageStatus,
  formatPoolAction,
  formatPoolStatus,
  redact,
  shortDescription,
  siteState,
  table,
  toJson,
  statusLine,
} from '../../../lib/cli/format';
import { ImageNotFound, RbdError, rbdError } from '../../../lib/core/errors';
import { AbortError } from '../../../lib/mirror/wait';
import type { DrReport } from '../../../lib/dr/dr';
import type { MirrorImageStatus } from '../../../lib/mirror/image-mirror';
import type { MirrorSiteStatus } from '../../../lib/mirror/status';
import type { PoolMirrorStatus } from '../../../lib/mirror/pool-mirror';

const cmd = (...argv: string[]): Command => parseCommandLine(argv).command;

function usage(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

// ---------------------------------------------------------------- specs

describe('specs', () => {
  test('POOL/IMAGE and POOL/NAMESPACE/IMAGE', () => {
    expect(parseImageSpec('rbd/disk')).toEqual({ pool: 'rbd', namespace: '', image: 'disk' });
    expect(parseImageSpec('rbd/ns1/disk')).toEqual({ pool: 'rbd', namespace: 'ns1', image: 'disk' });
  });

  test('an image spec without an image, with too many parts, an empty part or a snapshot is a usage error', () => {
    for (const bad of ['rbd', 'a/b/c/d', 'rbd/', '/disk', 'rbd//disk', 'rbd/disk@snap']) {
      expect(() => parseImageSpec(bad)).toThrow(UsageError);
    }
  });

  test('POOL and POOL/NAMESPACE', () => {
    expect(parsePoolSpec('rbd')).toEqual({ pool: 'rbd', namespace: '' });
    expect(parsePoolSpec('rbd/ns')).toEqual({ pool: 'rbd', namespace: 'ns' });
    expect(() => parsePoolSpec('a/b/c')).toThrow(UsageError);
  });

  test('sizes take binary units like rbd --size', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('4K')).toBe(4096);
    expect(parseSize('16M')).toBe(16 * 2 ** 20);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    for (const bad of ['0', '-1', '1.5G', 'lots', '']) expect(() => parseSize(bad)).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------- flags and commands

describe('global flags', () => {
  test('connection flags are named like rbd\'s, short forms included; client. is stripped from --id', () => {
    const p = parseCommandLine(['-c', '/etc/ceph/a.conf', '-i', 'client.mirror', '--keyring', '/k', '--mon-host', '10.0.0.1', 'status', 'rbd']);
    expect(p.global).toMatchObject({ conf: '/etc/ceph/a.conf', id: 'mirror', keyring: '/k', monHost: '10.0.0.1' });
  });

  test('--cluster names the cluster; flags may follow the command and its arguments', () => {
    const p = parseCommandLine(['status', 'rbd', '--cluster', 'remote', '--json']);
    expect(p.global).toMatchObject({ cluster: 'remote', json: true });
  });

  test('--timeout is seconds, greater than 0', () => {
    expect(parseCommandLine(['--timeout', '2.5', 'status', 'rbd']).global.timeoutSec).toBe(2.5);
    for (const bad of ['0', '-3', 'soon', '']) expect(usage(['--timeout', bad, 'status', 'rbd']).message).toMatch(/--timeout/);
  });

  test('progress is automatic unless --progress, --no-progress or --quiet say otherwise', () => {
    expect(parseCommandLine(['status', 'rbd']).global.progress).toBe('auto');
    expect(parseCommandLine(['status', 'rbd', '--progress']).global.progress).toBe('on');
    expect(parseCommandLine(['status', 'rbd', '--no-progress']).global.progress).toBe('off');
    expect(parseCommandLine(['status', 'rbd', '--quiet', '--progress']).global.progress).toBe('off');
    expect(usage(['status', 'rbd', '--progress', '--no-progress']).message).toMatch(/exclude/);
  });

  test('an empty connection flag is a usage error', () => {
    expect(usage(['--conf', '', 'status', 'rbd']).message).toMatch(/--conf must not be empty/);
  });
});

describe('commands', () => {
  test('status of a pool (with --namespace) or of an image', () => {
    expect(cmd('status', 'rbd')).toEqual({ name: 'status', target: { pool: 'rbd', namespace: '' } });
    expect(cmd('status', 'rbd', '--namespace', 'ns')).toEqual({ name: 'status', target: { pool: 'rbd', namespace: 'ns' } });
    expect(cmd('status', 'rbd/disk')).toEqual({ name: 'status', target: { pool: 'rbd', namespace: '', image: 'disk' } });
  });

  test('--namespace with an image spec is a usage error', () => {
    expect(usage(['status', 'rbd/disk', '--namespace', 'ns']).message).toMatch(/POOL\/NAMESPACE\/IMAGE/);
  });

  test('enable defaults to journal mode; snapshot is accepted; anything else is not', () => {
    expect(cmd('enable', 'rbd/disk')).toMatchObject({ name: 'enable', mode: 'journal' });
    expect(cmd('enable', 'rbd/disk', 'snapshot')).toMatchObject({ name: 'enable', mode: 'snapshot' });
    expect(usage(['enable', 'rbd/disk', 'mirror']).message).toMatch(/bad mode 'mirror'/);
  });

  test('disable and promote take --force; demote does not', () => {
    expect(cmd('disable', 'rbd/disk', '--force')).toMatchObject({ name: 'disable', force: true });
    expect(cmd('promote', 'rbd/disk')).toMatchObject({ name: 'promote', force: false, target: { image: 'disk' } });
    expect(cmd('promote', 'rbd', '--force')).toEqual({ name: 'promote', force: true, target: { pool: 'rbd', namespace: '' } });
    expect(usage(['demote', 'rbd/disk', '--force']).message).toBe("demote: unknown option '--force'");
  });

  test('resync takes --wait', () => {
    expect(cmd('resync', 'rbd/disk', '--wait')).toMatchObject({ name: 'resync', wait: true });
    expect(cmd('resync', 'rbd/disk')).toMatchObject({ name: 'resync', wait: false });
  });

  test('wait: replication by default, or a state match', () => {
    expect(cmd('wait', 'rbd/disk')).toMatchObject({ target: { kind: 'replication' } });
    expect(cmd('wait', 'rbd/disk', '--for', 'replication')).toMatchObject({ target: { kind: 'replication' } });
    expect(cmd('wait', 'rbd/disk', '--for', 'replaying')).toMatchObject({ target: { kind: 'state', local: 'replaying' } });
    expect(cmd('wait', 'rbd/disk', '--local', 'replaying', '--peer', 'stopped')).toMatchObject({
      target: { kind: 'state', local: 'replaying', peer: 'stopped' },
    });
    expect(cmd('wait', 'rbd/disk', '--peer', 'replaying')).toEqual({
      name: 'wait',
      spec: { pool: 'rbd', namespace: '', image: 'disk' },
      target: { kind: 'state', peer: 'replaying' },
    });
  });

  test('wait: an unknown state, or --for replication with --peer, is a usage error', () => {
    expect(usage(['wait', 'rbd/disk', '--for', 'done']).message).toMatch(/bad --for 'done'/);
    expect(usage(['wait', 'rbd/disk', '--for', 'replication', '--peer', 'replaying']).message).toMatch(/excludes/);
    expect(usage(['wait', 'rbd/disk', '--for', 'replaying', '--local', 'stopped']).message).toMatch(/one of them/);
  });

  test('failover: pool, images, --to-* flags (the site taking the role), planned by default', () => {
    expect(cmd('failover', 'rbd', 'a', 'b', '--to-conf', '/b.conf', '--to-id', 'client.x', '--to-keyring', '/b.keyring')).toEqual({
      name: 'failover',
      pool: { pool: 'rbd', namespace: '' },
      images: ['a', 'b'],
      mode: 'planned',
      to: { conf: '/b.conf', id: 'x', keyring: '/b.keyring' },
      fromUnreachable: false,
    });
    expect(cmd('failover', 'rbd/ns', '--to-cluster', 'remote', '--mode', 'forced', '--from-unreachable', '--to-pool', 'rbd2')).toMatchObject({
      pool: { pool: 'rbd', namespace: 'ns' },
      images: [],
      mode: 'forced',
      to: { cluster: 'remote' },
      toPool: 'rbd2',
      fromUnreachable: true,
    });
  });

  test('failover: no --to-* site, a bad mode, --from-unreachable when planned, or an image spec as image is a usage error', () => {
    expect(usage(['failover', 'rbd']).message).toMatch(/--to-conf/);
    expect(usage(['failover', 'rbd', '--to-conf', 'x', '--mode', 'fast']).message).toMatch(/bad --mode 'fast'/);
    expect(usage(['failover', 'rbd', '--to-conf', 'x', '--from-unreachable']).message).toMatch(/needs --mode forced/);
    expect(usage(['failover', 'rbd', 'rbd/disk', '--to-conf', 'x']).message).toMatch(/bare names/);
  });

  test('failback takes the --to-* flags but no --mode', () => {
    expect(cmd('failback', 'rbd', 'disk', '--to-conf', '/a.conf')).toMatchObject({ name: 'failback', images: ['disk'], mode: 'planned' });
    expect(usage(['failback', 'rbd', '--to-conf', 'x', '--mode', 'forced']).message).toBe("failback: unknown option '--mode'");
  });

  test('export and import take - for stdout/stdin; import takes --size', () => {
    expect(cmd('export', 'rbd/disk', '-')).toMatchObject({ name: 'export', file: '-' });
    expect(cmd('import', '-', 'rbd/disk', '--size', '1G')).toMatchObject({ name: 'import', file: '-', size: 2 ** 30 });
    expect(cmd('import', '/tmp/f', 'rbd/ns/disk')).toEqual({ name: 'import', file: '/tmp/f', spec: { pool: 'rbd', namespace: 'ns', image: 'disk' } });
    expect(usage(['export', 'rbd/disk', '']).message).toMatch(/empty file name/);
  });

  test('missing and extra arguments are usage errors naming the command', () => {
    const e = usage(['enable']);
    expect(e.message).toMatch(/^enable: missing argument/);
    expect(e.command).toBe('enable');
    expect(usage(['status', 'rbd', 'extra']).message).toMatch(/unexpected argument 'extra'/);
    expect(usage(['export', 'rbd/disk']).message).toMatch(/missing argument/);
  });

  test('an unknown command or flag, or a flag of another command, is a usage error', () => {
    expect(usage(['frobnicate']).message).toBe("unknown command 'frobnicate'");
    expect(usage(['status', 'rbd', '--frob']).message).toBe("unknown option '--frob'");
    expect(usage(['status', 'rbd', '--force']).message).toBe("status: unknown option '--force'");
    expect(usage([]).message).toBe('no command given');
  });

  test('help and version', () => {
    expect(cmd('--help')).toEqual({ name: 'help' });
    expect(cmd('help', 'failover')).toEqual({ name: 'help', topic: 'failover' });
    expect(cmd('wait', '--help')).toEqual({ name: 'help', topic: 'wait' });
    expect(cmd('--version')).toEqual({ name: 'version' });
  });
});

describe('help', () => {
  test('lists every command and every exit code', () => {
    const h = helpText();
    for (const c of ['status', 'enable', 'disable', 'promote', 'demote', 'resync', 'wait', 'failover', 'failback', 'export', 'import']) {
      expect(h).toContain(`\n  ${c} `);
    }
    for (const code of Object.values(EXIT)) expect(h).toMatch(new RegExp(`\\n  ${code} +\\S`));
  });

  test("a command's help shows its usage and flags; an unknown topic is a usage error", () => {
    expect(helpText('failover')).toMatch(/^usage: xrbd failover POOL\[\/NAMESPACE\] \[IMAGE\.\.\.\]/);
    expect(helpText('failover')).toContain('--to-keyring PATH');
    expect(() => helpText('nope')).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------- exit codes and main()

describe('exit codes', () => {
  const { ETIMEDOUT, ENOENT } = constants.errno;

  test('usage 2, connect 3, timeout 4, abort 130, any other failure 1', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new ConnectError('x'))).toBe(3);
    expect(exitCodeFor(rbdError(ETIMEDOUT, { op: 'mirror.waitForState' }))).toBe(4);
    expect(exitCodeFor(new AbortError())).toBe(130);
    expect(exitCodeFor(rbdError(ENOENT, { op: 'openImage', image: 'x', subject: 'image' }))).toBe(1);
    expect(exitCodeFor(new Error('x'))).toBe(1);
  });

  test('an aborted run exits 130 whatever the error', () => {
    const ac = new AbortController();
    ac.abort();
    expect(exitCodeFor(rbdError(ENOENT, { op: 'openImage', image: 'x', subject: 'image' }), ac.signal)).toBe(130);
  });
});

class Collect extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await main(argv, { stdout, stderr, stdin: () => process.stdin, signal: new AbortController().signal });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('main()', () => {
  test('a usage error exits 2 with `xrbd: <message>` and a pointer to --help on stderr', async () => {
    const r = await runMain(['status', 'rbd/a/b/c']);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: "xrbd: bad image spec 'rbd/a/b/c': expected POOL/IMAGE or POOL/NAMESPACE/IMAGE\nTry 'xrbd status --help'.\n",
    });
  });

  test('--help prints the usage on stdout and exits 0', async () => {
    const r = await runMain(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: xrbd COMMAND/);
    expect(r.stderr).toBe('');
  });

  test('a key file that cannot be read exits 3 before connecting', async () => {
    const r = await runMain(['--keyfile', '/nonexistent/xrbd.key', '--mon-host', '127.0.0.1:1', 'status', 'rbd']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^xrbd: cannot read the key file of the cluster: ENOENT/);
  });
});

// ---------------------------------------------------------------- formatting

const site = (over: Partial<MirrorSiteStatus>): MirrorSiteStatus => ({
  mirrorUuid: '',
  siteName: '',
  state: 'stopped',
  description: 'local image is primary',
  up: true,
  lastUpdate: new Date('2026-01-02T03:04:05Z'),
  replay: null,
  ...over,
});

const peerB = site({
  mirrorUuid: 'uuid-b',
  siteName: 'site-b',
  state: 'replaying',
  description: 'replaying, {"entries_behind_primary":3}',
  replay: { kind: 'journal', entriesBehindPrimary: 3, primaryPosition: null, nonPrimaryPosition: null, bytesPerSecond: 0, entriesPerSecond: 0 },
});

const imageStatus: MirrorImageStatus = {
  name: 'disk',
  info: { globalId: 'g-1', state: 'enabled', primary: true },
  local: site({}),
  peers: [peerB],
};

describe('formatting', () => {
  test('table pads every column but the last', () => {
    expect(table(['A', 'BB'], [['xyz', '1'], ['q', '22']])).toBe('A    BB\nxyz  1\nq    22\n');
  });

  test('siteState and shortDescription read like rbd', () => {
    expect(siteState(peerB)).toBe('up+replaying');
    expect(siteState(site({ up: false, state: 'unknown' }))).toBe('down+unknown');
    expect(shortDescription('replaying, {"bytes_per_second":0.0}')).toBe('replaying');
    expect(shortDescription('local image is primary')).toBe('local image is primary');
    expect(shortDescription('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  test('an image status lists the local site and each peer', () => {
    const t = formatImageStatus(imageStatus, 'journal');
    expect(t).toContain('disk:\n  global_id: g-1\n  mirroring: enabled\n  mode: journal\n  primary: yes\n  state: up+stopped\n');
    expect(t).toContain('  peer_sites:\n    name: site-b\n    mirror_uuid: uuid-b\n    state: up+replaying\n');
    expect(t).toContain('last_update: 2026-01-02T03:04:05.000Z');
  });

  test('a pool status has the summary, the daemons and one row per image with mode, primary and peer states', () => {
    const status: PoolMirrorStatus = {
      health: 'WARNING',
      daemonHealth: 'OK',
      imageHealth: 'WARNING',
      states: { replaying: 1, syncing: 1 },
      daemons: [
        { serviceId: '4122', instanceId: '1', clientId: 'site-a', hostname: 'vm', cephVersion: '16.2.15', leader: true, health: 'OK', callouts: [] },
      ],
      images: [
        { ...imageStatus, id: 'id1' },
        { ...imageStatus, id: 'id2', name: 'other', info: { ...imageStatus.info, primary: false }, local: site({ state: 'syncing', description: 'bootstrapping, IMAGE_SYNC/COPY_IMAGE 42%' }) },
      ],
    };
    const t = formatPoolStatus(status, new Map([['id1', 'journal'], ['id2', 'snapshot']]));
    expect(t).toMatch(/^health: WARNING\ndaemon health: OK\nimage health: WARNING\nimages: 2 total\n {4}1 replaying\n {4}1 syncing\n/);
    expect(t).toContain('4122     site-a  vm    16.2.15  yes     OK');
    const rows = t.split('IMAGES\n')[1].split('\n');
    expect(rows[0].split(/\s{2,}/)).toEqual(['NAME', 'MODE', 'PRIMARY', 'LOCAL', 'DESCRIPTION', 'PEERS']);
    expect(rows[1].split(/\s{2,}/)).toEqual(['disk', 'journal', 'yes', 'up+stopped', 'local image is primary', 'site-b:up+replaying']);
    expect(rows[2].split(/\s{2,}/)).toEqual(['other', 'snapshot', 'no', 'up+syncing', 'bootstrapping, IMAGE_SYNC/COPY_IMAGE 42%', 'site-b:up+replaying']);
  });

  test('a pool-wide action lists each image and its error', () => {
    const t = formatPoolAction('promote', [
      { image: 'a', ok: true },
      { image: 'b', ok: false, error: new ImageNotFound(2, { op: 'mirror.promote', pool: 'rbd', image: 'b' }) },
    ]);
    expect(t.split('\n')[1]).toBe('a      promoted');
    expect(t.split('\n')[2]).toMatch(/^b {6}failed {4}mirror\.promote on pool 'rbd', image 'b' failed/);
    expect(formatPoolAction('demote', [])).toBe('no image to demote\n');
  });

  const report: DrReport = {
    operation: 'failover',
    mode: 'planned',
    from: 'site-a',
    to: 'site-b',
    ok: false,
    ms: 2500,
    images: [
      {
        image: 'a',
        outcome: 'done',
        before: { from: 'primary', to: 'non-primary' },
        after: { from: 'non-primary', to: 'primary' },
        actions: [
          { step: 'demote', site: 'site-a', ms: 100 },
          { step: 'promote', site: 'site-b', ms: 0 },
        ],
        ms: 2100,
      },
      {
        image: 'b',
        outcome: 'failed',
        before: { from: 'missing', to: 'non-primary' },
        after: { from: 'missing', to: 'non-primary' },
        actions: [],
        error: Object.assign(new Error('b: the image is missing on site-a'), { code: 'ENOENT', errno: 2 }),
        hint: "use mode 'forced' if site-a is lost",
        ms: 50,
      },
    ],
  };

  test('a DR report: one row per image, errors and hints under the table, a summary line', () => {
    const t = formatDrReport(report);
    const lines = t.split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['IMAGE', 'OUTCOME', 'BEFORE site-a/site-b', 'AFTER site-a/site-b', 'ACTIONS', 'TIME']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['a', 'done', 'primary/non-primary', 'non-primary/primary', 'demote@site-a,promote@site-b', '2.1s']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['b', 'failed', 'missing/non-primary', 'missing/non-primary', '-', '0.1s']);
    expect(t).toContain('b: error: b: the image is missing on site-a\nb: next: use mode \'forced\' if site-a is lost\n');
    expect(lines[lines.length - 2]).toBe('failover (planned) site-a -> site-b: 1 done, 0 already, 1 failed in 2.5s');
  });

  test('a DR report as JSON: errors as { name, message, code, errno }', () => {
    const j = JSON.parse(toJson(drReportJson(report))) as { images: Array<{ error?: unknown }> };
    expect(j.images[0].error).toBeUndefined();
    expect(j.images[1].error).toEqual({ name: 'Error', message: 'b: the image is missing on site-a', code: 'ENOENT', errno: 2 });
  });

  test('a DR event is one line', () => {
    expect(formatDrEvent({ image: 'a', phase: 'demote', site: 'site-a', message: 'demoting the copy on site-a' })).toBe(
      'a: demote [site-a] demoting the copy on site-a',
    );
    expect(formatDrEvent({ image: 'a', phase: 'inspect', message: 'reading' })).toBe('a: inspect reading');
  });

  test('JSON: dates as ISO strings, bigints as strings, errors reduced, maps as objects', () => {
    const err = new RbdError(2, { op: 'openImage', pool: 'p', image: 'i' });
    expect(JSON.parse(toJson({ d: new Date(0), n: 2n ** 64n, e: err, m: new Map([['k', 1]]) }))).toEqual({
      d: '1970-01-01T00:00:00.000Z',
      n: '18446744073709551616',
      e: { name: 'RbdError', message: err.message, code: 'ENOENT', errno: 2 },
      m: { k: 1 },
    });
  });

  test('secrets are redacted; keys are read from keyring text', () => {
    const keyring = '[client.admin]\n\tkey = AQDIbgJroo0sJBAA6Bek+ZLOaX3/JIIr2kI3fw==\n\tcaps mon = "allow *"\n';
    const keys = keyringSecrets(keyring);
    expect(keys).toEqual(['AQDIbgJroo0sJBAA6Bek+ZLOaX3/JIIr2kI3fw==']);
    expect(redact(`bad key ${keys[0]}!`, keys)).toBe('bad key <redacted>!');
  });

  test('a status line names each site, its state and replay summary', () => {
    expect(statusLine(imageStatus)).toBe('local up+stopped (local image is primary), site-b up+replaying (entries behind 3)');
    expect(statusLine(null)).toBe('no status yet');
  });
});

describe('progress', () => {
  test('off: nothing is written', () => {
    const p = new Progress(null);
    p.bar('x', 1, 2);
    p.status('s');
    p.done();
    expect(p.enabled).toBe(false);
  });

  test('on a pipe: a bar prints a line per 10%, a status line only when it changes', () => {
    const lines: string[] = [];
    const p = new Progress({ write: (t: string) => lines.push(t), isTTY: false });
    for (let d = 0; d <= 100; d += 5) p.bar('Exporting', d * 1024, 100 * 1024);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('Exporting 0% (0 B / 100 KiB)\n');
    expect(lines[10]).toBe('Exporting 100% (100 KiB / 100 KiB)\n');
    lines.length = 0;
    p.status('a', 1000);
    p.status('a', 2000);
    p.status('b', 3400);
    expect(lines).toEqual(['a (after 1s)\n', 'b (after 3s)\n']);
  });

  test('on a terminal: the line is redrawn in place and ended by done()', () => {
    const out: string[] = [];
    const p = new Progress({ write: (t: string) => out.push(t), isTTY: true, columns: 100 });
    p.bar('Importing', 50, 100);
    p.bar('Importing', 100, 100);
    p.status('waiting', 12_400);
    p.done();
    expect(out[2]).toBe('\r\x1b[2Kwaiting  12s');
    expect(out[0]).toMatch(/^\r\x1b\[2KImporting {2}50% \[={14}> {15}\] 50 B \/ 100 B$/);
    expect(out[1]).toMatch(/^\r\x1b\[2KImporting 100% \[={30}\] 100 B \/ 100 B$/);
    expect(out[3]).toBe('\n');
  });
});

describe('xrbd drill', () => {
  test('parses the image, the primary site, --exec / --keep and --name', () => {
    const p = parseCommandLine(['-c', '/b.conf', 'drill', 'rbd/ns/disk', '--primary-conf', '/a.conf', '--primary-id', 'client.x', '--exec', 'true', '--name', 'd1']);
    expect(p.global.conf).toBe('/b.conf');
    expect(p.command).toEqual({
      name: 'drill',
      spec: { pool: 'rbd', namespace: 'ns', image: 'disk' },
      primary: { conf: '/a.conf', id: 'x' },
      keep: false,
      exec: 'true',
      drillName: 'd1',
    });
    expect(parseCommandLine(['drill', 'rbd/disk', '--primary-mon-host', '10.0.0.1', '--keep', '--primary-pool', 'p2']).command).toMatchObject({
      keep: true,
      primaryPool: 'p2',
      primary: { monHost: '10.0.0.1' },
    });
  });
  test('refuses what makes no drill', () => {
    expect(usage(['drill', 'rbd/disk']).message).toMatch(/--primary-conf/);
    expect(usage(['drill', 'rbd', '--primary-conf', '/a']).message).toMatch(/POOL\/IMAGE/);
    expect(usage(['drill', 'rbd/disk', '--primary-conf', '/a', '--keep', '--exec', 'x']).message).toMatch(/exclude/);
    expect(usage(['drill', 'rbd/disk', '--primary-conf', '/a', '--exec', '']).message).toMatch(/--exec must not be empty/);
    expect(usage(['drill', 'rbd/disk', '--to-conf', '/a']).message).toMatch(/to-conf/);
  });
});
