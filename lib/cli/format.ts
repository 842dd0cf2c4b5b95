/**
 * xrbd's output: tables of statuses and reports, JSON, error lines and
 * progress on stderr. Works on plain data (the SDK's result objects), so the
 * unit tests need no cluster.
 */
import type { DrEvent, DrImageReport, DrReport } from '../dr/dr';
import type { DrillHandle } from '../dr/drill';
import type { MirrorImageStatus } from '../mirror/image-mirror';
import type { MirrorImageLag } from '../mirror/lag';
import type { MirrorSiteStatus } from '../mirror/status';
import type { MirrorPoolActionResult, PoolMirrorStatus } from '../mirror/pool-mirror';

/** An Error as --json shows it: what a script needs to branch on, no stack. */
export interface JsonError {
  name: string;
  message: string;
  code?: string;
  errno?: number;
}

/** An Error reduced to name, message, code and errno. */
export function jsonError(err: unknown): JsonError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; errno?: unknown };
  const out: JsonError = { name: e.name, message: e.message };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.errno === 'number') out.errno = e.errno;
  return out;
}

/** JSON text of SDK objects: Dates as ISO strings (their toJSON), bigints as strings, Errors via jsonError, Maps as objects. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return jsonError(v);
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    2,
  );
}

/** Columns padded to their widest cell, like rbd's TextTable; the last column is not padded. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `up+replaying`, as `rbd mirror image status` prints a site's state. */
export function siteState(s: MirrorSiteStatus | null): string {
  return s === null ? '-' : `${s.up ? 'up' : 'down'}+${s.state}`;
}

/**
 * A description without its JSON replay data, at most `max` characters:
 * 'replaying, {"bytes_per_second":...}' → 'replaying'.
 */
export function shortDescription(description: string, max = 40): string {
  const brace = description.indexOf('{');
  let s = (brace >= 0 ? description.slice(0, brace) : description).replace(/[,\s]+$/, '').trim();
  if (s === '' && brace >= 0) s = description.trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** What the replay data says, in a few words: 'entries behind 3', 'syncing 42%', 'idle'. */
export function replaySummary(s: MirrorSiteStatus | null): string {
  const r = s?.replay;
  if (!r) return '';
  if (r.kind === 'journal') return `entries behind ${r.entriesBehindPrimary}`;
  if (r.syncingPercent !== undefined) return `${r.replayState} ${r.syncingPercent}%`;
  return r.replayState;
}

function peerList(peers: readonly MirrorSiteStatus[]): string {
  if (peers.length === 0) return '-';
  return peers.map((p) => `${p.siteName || p.mirrorUuid || '?'}:${siteState(p)}`).join(',');
}

/**
 * An image's replication lag in a few characters: '3.0s', '3.0s (15 behind)' in journal mode, '-' when
 * unknown. The age of the newest data the worst peer holds (see MirrorImageLag.lagMs).
 */
export function lagCell(l: MirrorImageLag | undefined): string {
  if (l === undefined || l.lagMs === null) return '-';
  const s = l.lagMs / 1000;
  const t = s < 60 ? `${s.toFixed(1)}s` : s < 3600 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`;
  return l.entriesBehind !== null && l.entriesBehind > 0 ? `${t} (${l.entriesBehind} behind)` : t;
}

/**
 * `rbd mirror pool status --verbose`-like text: summary, daemons, then one row per image; with `lag` (by image
 * name, from pool.mirror.lag()) a LAG column last.
 */
export function formatPoolStatus(
  status: PoolMirrorStatus,
  modes: ReadonlyMap<string, string> = new Map(),
  lag?: ReadonlyMap<string, MirrorImageLag>,
): string {
  const images = status.images ?? [];
  const total = Object.values(status.states).reduce<number>((a, b) => a + (b ?? 0), 0);
  let out = `health: ${status.health}\ndaemon health: ${status.daemonHealth}\nimage health: ${status.imageHealth}\nimages: ${total} total\n`;
  for (const [state, n] of Object.entries(status.states).sort()) out += `    ${n} ${state}\n`;
  if (status.daemons && status.daemons.length) {
    out += '\nDAEMONS\n';
    out += table(
      ['SERVICE', 'CLIENT', 'HOST', 'VERSION', 'LEADER', 'HEALTH', 'CALLOUTS'],
      status.daemons.map((d) => [d.serviceId, d.clientId, d.hostname, d.cephVersion, d.leader ? 'yes' : 'no', d.health, d.callouts.join('; ')]),
    );
  }
  if (images.length) {
    out += '\nIMAGES\n';
    out += table(
      ['NAME', 'MODE', 'PRIMARY', 'LOCAL', 'DESCRIPTION', 'PEERS', ...(lag ? ['LAG'] : [])],
      images.map((i) => [
        i.name,
        modes.get(i.id) ?? '-',
        i.info.primary ? 'yes' : 'no',
        siteState(i.local),
        i.local ? shortDescription(i.local.description) : '-',
        peerList(i.peers),
        ...(lag ? [lagCell(lag.get(i.name))] : []),
      ]),
    );
  }
  return out;
}

function siteBlock(s: MirrorSiteStatus, indent: string): string {
  const lines = [
    `state: ${siteState(s)}`,
    `description: ${s.description}`,
    `last_update: ${s.lastUpdate ? s.lastUpdate.toISOString() : '-'}`,
  ];
  return lines.map((l) => indent + l).join('\n') + '\n';
}

/** The lag lines of an image status: the worst site's figures, '-' for unknown. */
export function formatLag(l: MirrorImageLag, indent = '  '): string {
  const d = (v: Date | null): string => (v ? v.toISOString() : '-');
  const n = (v: number | null, unit = ''): string => (v === null ? '-' : `${v}${unit}`);
  const lines = [`lag: ${lagCell(l)}`, `data_as_of: ${d(l.dataAsOf)}`];
  if (l.mode === 'snapshot') {
    lines.push(`last_sync_time: ${d(l.lastSyncTime)}`, `last_sync_duration: ${n(l.lastSyncDuration, 's')}`, `last_sync_bytes: ${n(l.lastSyncBytes)}`);
  } else {
    lines.push(`entries_behind: ${n(l.entriesBehind)}`, `bytes_behind: ${n(l.bytesBehind)}`, `oldest_unreplicated_write: ${d(l.oldestUnreplicatedWrite)}`);
  }
  return lines.map((x) => indent + x).join('\n') + '\n';
}

/** `rbd mirror image status`-like text. `mode` when known ('journal' / 'snapshot'); `lag` adds its lines. */
export function formatImageStatus(status: MirrorImageStatus, mode?: string, lag?: MirrorImageLag): string {
  let out = `${status.name}:\n  global_id: ${status.info.globalId}\n  mirroring: ${status.info.state}\n`;
  if (mode !== undefined) out += `  mode: ${mode}\n`;
  out += `  primary: ${status.info.primary ? 'yes' : 'no'}\n`;
  if (status.local) out += siteBlock(status.local, '  ');
  if (status.peers.length) {
    out += '  peer_sites:\n';
    out += status.peers
      .map((p) => `    name: ${p.siteName || '-'}\n    mirror_uuid: ${p.mirrorUuid || '-'}\n${siteBlock(p, '    ')}`)
      .join('\n');
  }
  if (lag) out += formatLag(lag);
  return out;
}

/** A pool-wide promote/demote result: one row per image acted on. */
export function formatPoolAction(op: 'promote' | 'demote', results: readonly MirrorPoolActionResult[]): string {
  if (results.length === 0) return `no image to ${op}\n`;
  return table(
    ['IMAGE', 'RESULT', 'ERROR'],
    results.map((r) => [r.image, r.ok ? `${op}d` : 'failed', r.error ? r.error.message : '']),
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One DrEvent as a progress line: `img1: demote [site-a] demoting the copy on site-a`. */
export function formatDrEvent(e: DrEvent): string {
  return `${e.image}: ${e.phase}${e.site ? ` [${e.site}]` : ''} ${e.message}`;
}

function actions(r: DrImageReport): string {
  return r.actions.length ? r.actions.map((a) => `${a.step}@${a.site}`).join(',') : '-';
}

/** A DrReport as a table (one row per image) with errors and hints under it and a summary line. */
export function formatDrReport(report: DrReport): string {
  const from = report.from ?? '(unknown)';
  let out = table(
    ['IMAGE', 'OUTCOME', `BEFORE ${from}/${report.to}`, `AFTER ${from}/${report.to}`, 'ACTIONS', 'TIME'],
    report.images.map((r) => [
      r.image,
      r.outcome,
      `${r.before.from}/${r.before.to}`,
      `${r.after.from}/${r.after.to}`,
      actions(r),
      seconds(r.ms),
    ]),
  );
  for (const r of report.images) {
    if (r.error) out += `${r.image}: error: ${r.error.message}\n`;
    if (r.hint) out += `${r.image}: ${r.outcome === 'failed' ? 'next' : 'note'}: ${r.hint}\n`;
  }
  const count = (o: DrImageReport['outcome']): number => report.images.filter((r) => r.outcome === o).length;
  out +=
    `${report.operation} (${report.mode}) ${from} -> ${report.to}: ${count('done')} done, ${count('already')} already, ` +
    `${count('failed')} failed in ${seconds(report.ms)}\n`;
  return out;
}

/** A DrReport for --json: errors reduced to { name, message, code, errno }. */
export function drReportJson(report: DrReport): unknown {
  return { ...report, images: report.images.map((r) => (r.error ? { ...r, error: jsonError(r.error) } : r)) };
}

/** A drill's result: the drill image, its point, the checksums, the timings, the test and the cleanup. */
export function formatDrill(d: DrillHandle, testCode: number | null, cleanedUp: boolean): string {
  const p = d.point;
  const t = d.timings;
  const lines = [
    `drill image: ${d.spec}`,
    `mode: ${p.mode}`,
    `point: ${p.source === 'head' ? 'head at ' : ''}${p.snapshotName} (id ${p.snapshotId}) = primary snapshot ${p.primarySnapshotId} taken ${p.timestamp.toISOString()}`,
    `sha256: ${d.checksums.drill} (primary at the point: ${d.checksums.primary}, ${d.checksums.size} bytes): match`,
    `timings: point ${seconds(t.pointMs)}, copy ${seconds(t.copyMs)}, verify ${seconds(t.verifyMs)}, total ${seconds(t.totalMs)}`,
  ];
  if (p.createdOnPrimary) lines.push(`drill snapshot on the primary: ${p.createdOnPrimary}${cleanedUp ? ' (removed)' : ''}`);
  if (testCode !== null) lines.push(`test: exit ${testCode}${testCode === 0 ? ' (passed)' : ' (failed)'}`);
  lines.push(cleanedUp ? 'cleaned up: the drill image is removed' : `kept: remove ${d.spec}${p.createdOnPrimary ? ` and ${p.createdOnPrimary} on the primary` : ''} when done`);
  return lines.join('\n') + '\n';
}

/** Replace every secret (cephx keys) in a message. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('<redacted>');
  return out;
}

/** Bytes as rbd prints sizes: 512 B, 4 MiB, 1.5 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** What a progress renderer writes to: stderr, or a test's collector. */
export interface ProgressSink {
  write(text: string): unknown;
  /** Whether to draw in place (a terminal) or print lines. */
  isTTY?: boolean;
  columns?: number;
}

/**
 * Progress on stderr. On a terminal, one line redrawn in place (`\r`); when
 * forced onto a pipe or file (--progress), a line per 10% (bars) or per change
 * (status), so logs stay short. Disabled: every call is a no-op.
 */
export class Progress {
  readonly #sink: ProgressSink | null;
  readonly #tty: boolean;
  #drawn = false;
  #lastStep = -1;
  #lastText = '';
  #lastDraw = 0;

  constructor(sink: ProgressSink | null) {
    this.#sink = sink;
    this.#tty = sink?.isTTY === true;
  }

  /** Whether anything is drawn at all. */
  get enabled(): boolean {
    return this.#sink !== null;
  }

  /** A bar: `label  42% [=========>          ] 1.2 GiB / 3 GiB`. */
  bar(label: string, done: number, total: number): void {
    if (!this.#sink) return;
    const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
    if (this.#tty) {
      const now = Date.now();
      if (done < total && now - this.#lastDraw < 100) return; // at most 10 redraws a second
      this.#lastDraw = now;
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      const bar = '='.repeat(Math.max(0, fill - 1)) + (fill > 0 ? (pct === 100 ? '=' : '>') : '') + ' '.repeat(width - fill);
      this.#draw(`${label} ${String(pct).padStart(3)}% [${bar}] ${formatBytes(done)} / ${formatBytes(total)}`);
    } else {
      const step = Math.floor(pct / 10);
      if (step === this.#lastStep) return;
      this.#lastStep = step;
      this.#sink.write(`${label} ${pct}% (${formatBytes(done)} / ${formatBytes(total)})\n`);
    }
  }

  /**
   * A status line (what a wait sees), with the time waited so far when given:
   * redrawn on a terminal; on a pipe printed only when the text changes.
   */
  status(text: string, elapsedMs?: number): void {
    if (!this.#sink) return;
    const t = elapsedMs === undefined ? '' : `${Math.round(elapsedMs / 1000)}s`;
    if (this.#tty) this.#draw(t ? `${text}  ${t}` : text);
    else if (text !== this.#lastText) this.#sink.write(`${text}${t ? ` (after ${t})` : ''}\n`);
    this.#lastText = text;
  }

  /** End the in-place line (before other output, or at the end). */
  done(): void {
    if (this.#sink && this.#tty && this.#drawn) this.#sink.write('\n');
    this.#drawn = false;
    this.#lastStep = -1;
    this.#lastText = '';
  }

  #draw(text: string): void {
    const cols = (this.#sink?.columns ?? 80) - 1;
    const t = text.length > cols ? text.slice(0, cols - 1) + '…' : text;
    this.#sink?.write(`\r\x1b[2K${t}`);
    this.#drawn = true;
  }
}

/** What a wait sees, in one line: 'local up+replaying (replaying), site-b up+stopped (local image is primary)'. */
export function statusLine(status: MirrorImageStatus | null): string {
  if (status === null) return 'no status yet';
  const site = (s: MirrorSiteStatus, name: string): string => {
    const r = replaySummary(s);
    return `${name} ${siteState(s)}${r ? ` (${r})` : s.description ? ` (${shortDescription(s.description, 30)})` : ''}`;
  };
  const parts = [...(status.local ? [site(status.local, 'local')] : []), ...status.peers.map((p) => site(p, p.siteName || 'peer'))];
  return parts.join(', ') || 'no site status';
}
