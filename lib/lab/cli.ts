#!/usr/bin/env node
// node dist/lab/cli.js start|stop|status [--dir D] [--sites a,b] [--pool P] [--base-port N]
//                      [--objectstore memstore|bluestore] [--mirror-mode image|pool] [--no-mirroring]
//                      [--timeout SECS] [--purge] [--quiet]
import { Lab, defaultLabDir } from './lab';
import type { LabOptions, LabSiteInfo } from './lab';

const USAGE =
  'usage: lab start|stop|status [--dir D] [--sites a,b] [--pool P] [--base-port N] ' +
  '[--objectstore memstore|bluestore] [--mirror-mode image|pool] [--no-mirroring] [--timeout SECS] [--purge] [--quiet]';

function summary(lab: Lab): unknown {
  return {
    dir: lab.dir,
    pool: lab.pool,
    sites: lab.sites.map((s: LabSiteInfo) => ({
      name: s.name,
      fsid: s.fsid,
      monHost: s.monHost,
      confPath: s.confPath,
      keyringPath: s.keyringPath,
      clientId: s.clientId,
      mirrorClientId: s.mirrorClientId,
      logDir: s.logDir,
      cephVersion: s.cephVersion,
    })),
  };
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  const opts: LabOptions = {};
  let purge = false;
  let quiet = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--dir': opts.dir = val(); break;
      case '--sites': opts.sites = val().split(',').filter(Boolean); break;
      case '--pool': opts.pool = val(); break;
      case '--base-port': opts.basePort = Number(val()); break;
      case '--objectstore': {
        const v = val();
        if (v !== 'memstore' && v !== 'bluestore') throw new Error(`bad --objectstore ${v}`);
        opts.objectstore = v;
        break;
      }
      case '--mirror-mode': {
        const v = val();
        if (v !== 'image' && v !== 'pool') throw new Error(`bad --mirror-mode ${v}`);
        opts.mirrorMode = v;
        break;
      }
      case '--no-mirroring': opts.mirroring = false; break;
      case '--timeout': opts.timeoutMs = Number(val()) * 1000; break;
      case '--purge': purge = true; break;
      case '--quiet': quiet = true; break;
      default: throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  const dir = opts.dir ?? defaultLabDir();
  switch (cmd) {
    case 'start': {
      const t0 = Date.now();
      const lab = await Lab.start({ ...opts, dir, log: quiet ? undefined : (l) => process.stderr.write(l + '\n') });
      if (!quiet) process.stderr.write(`lab started in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.stdout.write(JSON.stringify(summary(lab), null, 2) + '\n');
      return 0;
    }
    case 'stop': {
      const lab = await Lab.open(dir);
      if (!lab) {
        process.stderr.write(`no lab in ${dir}\n`);
        return 0;
      }
      await lab.stop({ purge });
      return 0;
    }
    case 'status': {
      const lab = await Lab.attach(dir);
      if (!lab) {
        process.stdout.write(JSON.stringify({ dir, running: false }) + '\n');
        return 1;
      }
      process.stdout.write(JSON.stringify({ running: true, ...(summary(lab) as object), pids: await lab.pids() }, null, 2) + '\n');
      return 0;
    }
    default:
      process.stderr.write(USAGE + '\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`lab: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
