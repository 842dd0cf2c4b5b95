// The mirroring set-up of a lab (Lab.start / Lab.adopt): pool mirroring enabled on the first two sites, a
// bootstrap token made on the first and imported rx-tx on the second, then both checked to see one peer.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

import type { LabMirrorMode } from './types';
import { parseJson } from './util';

/** What the set-up needs of the lab. */
interface Mirrorable {
  readonly dir: string;
  readonly pool: string;
  rbd(site: string, args: string[], opts?: { timeoutMs?: number }): Promise<string>;
}

/** @internal Mirroring between sites `a` and `b`; `remaining()` bounds each CLI call (and throws past the deadline). */
export async function setUpMirroring(lab: Mirrorable, a: string, b: string, mode: LabMirrorMode, remaining: () => number): Promise<void> {
  await Promise.all(
    [a, b].map((s) =>
      lab.rbd(s, ['mirror', 'pool', 'enable', '--site-name', s, lab.pool, mode], {
        timeoutMs: remaining(),
      }),
    ),
  );
  const token = (
    await lab.rbd(a, ['mirror', 'pool', 'peer', 'bootstrap', 'create', '--site-name', a, lab.pool], {
      timeoutMs: remaining(),
    })
  ).trim();
  if (!token) throw new Error(`lab: empty bootstrap token from ${a}`);
  const tokenFile = path.join(lab.dir, `.bootstrap-token.${process.pid}`);
  await fsp.writeFile(tokenFile, token + '\n', { mode: 0o600 });
  try {
    await lab.rbd(
      b,
      ['mirror', 'pool', 'peer', 'bootstrap', 'import', '--site-name', b, '--direction', 'rx-tx', lab.pool, tokenFile],
      { timeoutMs: remaining() },
    );
  } finally {
    await fsp.rm(tokenFile, { force: true });
  }
  // both sides must now see exactly one peer (rx-tx)
  for (const [s, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const info = parseJson<{ mode?: string; site_name?: string; peers?: Array<{ site_name?: string; direction?: string }> }>(
      await lab.rbd(s, ['mirror', 'pool', 'info', lab.pool, '--format', 'json'], { timeoutMs: remaining() }),
      `rbd mirror pool info on ${s}`,
    );
    const peers = info.peers ?? [];
    if (info.mode !== mode || peers.length !== 1 || peers[0].site_name !== other)
      throw new Error(`lab: unexpected mirroring set-up on ${s}: ${JSON.stringify(info)}`);
  }
}
