// The lab's own network (Lab.start({ netns: true })): each of the two sites in a network namespace of its own,
// reached from this (the root) namespace through a veth pair, and one more veth pair between the two namespaces
// for the site-to-site traffic (what rbd-mirror uses). Everything is named and addressed from the lab's base
// port, so two labs with different base ports never share a name or an address, and what a killed run left is
// found again by name (cleanNetwork) before a new lab starts. Linux, root, iproute2 (`ip`, `tc`) only.
//
// Addresses: base port B gives 10.(B >> 8 & 255).(B & 255).0/24; site i's veth to the root namespace is
// .(4i+1) (root end) / .(4i+2) (the site's address: its daemons bind there, its mon is at .(4i+2):monPort).
// The site-to-site pair carries no subnet of its own: each namespace has a /32 route to the other site's
// address over it (with its own address as source), so rbd-mirror's traffic never crosses the root namespace
// and no forwarding is turned on anywhere. Traffic goes only to these addresses and loopback.
//
// A cut is a silent drop, as a real partition is: a `pfifo limit 0` qdisc on both ends of each veth cut drops
// every packet sent (no error to the sender, no route removed, TCP just retransmits), the daemons keep running.
// `ip link set down` would remove the routes (and send the packets to the default route instead); an nft or
// iptables drop would need a program this machine may not have. heal() deletes the qdiscs.
import { execFileSync } from 'node:child_process';

import { run } from './exec';

/** What the lab records of its network in lab.json. */
export interface LabNetwork {
  /** The base port the names and addresses come from. */
  basePort: number;
  /** The /24 the addresses are in, e.g. '10.94.136.0/24'. */
  subnet: string;
  /** One per site, in site order. */
  sites: LabSiteNetwork[];
}

/** One site's namespace, addresses and links in a netns lab. */
export interface LabSiteNetwork {
  /** The network namespace the site's daemons run in. */
  netns: string;
  /** The site's address, which every daemon binds to. */
  addr: string;
  /** The root namespace's address on the link to the site. */
  rootAddr: string;
  /** The root namespace's end of the link to the site (clients, CLIs, the orchestrator). */
  rootLink: string;
  /** The site's end of that link. */
  siteLink: string;
  /** The site's end of the site-to-site link (what rbd-mirror uses). */
  peerLink: string;
}

/** What cutSite() cuts: 'all' = the site is gone for clients and the other site; 'peer' = only the site-to-site link. */
export type LabCut = 'all' | 'peer';

const IP_TIMEOUT_MS = 10_000;

/** The names and addresses of a two-site lab network with base port `basePort` (nothing is created). */
export function planNetwork(basePort: number, siteCount: number): LabNetwork {
  if (siteCount !== 2) throw new Error(`Lab.start: netns needs exactly two sites (got ${siteCount})`);
  const x = (basePort >> 8) & 255;
  const y = basePort & 255;
  const net = `10.${x}.${y}`;
  return {
    basePort,
    subnet: `${net}.0/24`,
    sites: [0, 1].map((i) => ({
      netns: `xrbd${basePort}-${i}`,
      addr: `${net}.${4 * i + 2}`,
      rootAddr: `${net}.${4 * i + 1}`,
      rootLink: `xr${basePort}r${i}`, // root namespace end of the client link
      siteLink: `xr${basePort}s${i}`, // the site's end of it
      peerLink: `xr${basePort}p${i}`, // the site's end of the site-to-site link
    })),
  };
}

const ip = (args: string[]) => run('ip', args, { timeoutMs: IP_TIMEOUT_MS });
const inNs = (ns: string, args: string[]) => ip(['netns', 'exec', ns, ...args]);

/** Whether network namespaces can be had here: null if yes, else why not (a probe namespace is made and removed). */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return `not root (uid ${process.getuid()})`;
  const probe = `xrbd-probe-${process.pid}`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (e) {
    return `ip netns add failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  try {
    await inNs(probe, ['tc', 'qdisc', 'show']);
    return null;
  } catch (e) {
    return `ip netns exec ... tc failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    await ip(['netns', 'del', probe]).catch(() => undefined);
  }
}

/** Remove what a lab with this base port left (namespaces, veths), whether or not lab.json still names them. */
export async function cleanNetwork(plan: LabNetwork): Promise<void> {
  const names = (await ip(['netns', 'list']).catch(() => ({ stdout: '' }))).stdout.split('\n').map((l) => l.split(' ')[0]);
  for (const s of plan.sites) if (names.includes(s.netns)) await ip(['netns', 'del', s.netns]).catch(() => undefined);
  // a root end whose peer namespace is gone goes with it, but asynchronously; one made before its peer moved stays
  for (const s of plan.sites) await ip(['link', 'del', s.rootLink]).catch(() => undefined);
  await ip(['link', 'del', plan.sites[0].peerLink]).catch(() => undefined);
}

/** Create the namespaces, the veth pairs, the addresses and routes of `plan` (cleaning a previous run's first). */
export async function createNetwork(plan: LabNetwork): Promise<void> {
  await cleanNetwork(plan);
  const routes = (await ip(['-4', 'route', 'show'])).stdout;
  const prefix = plan.subnet.replace(/\.0\/24$/, '.');
  if (routes.split('\n').some((l) => l.startsWith(prefix) || l.startsWith(plan.subnet)))
    throw new Error(`lab: ${plan.subnet} (from base port ${plan.basePort}) is already routed here:\n${routes}`);
  const [a, b] = plan.sites;
  for (const s of plan.sites) {
    await ip(['netns', 'add', s.netns]);
    await inNs(s.netns, ['ip', 'link', 'set', 'lo', 'up']);
    await ip(['link', 'add', s.rootLink, 'type', 'veth', 'peer', 'name', s.siteLink, 'netns', s.netns]);
    await ip(['addr', 'add', `${s.rootAddr}/30`, 'dev', s.rootLink]);
    await ip(['link', 'set', s.rootLink, 'up']);
    await inNs(s.netns, ['ip', 'addr', 'add', `${s.addr}/30`, 'dev', s.siteLink]);
    await inNs(s.netns, ['ip', 'link', 'set', s.siteLink, 'up']);
  }
  await ip(['link', 'add', a.peerLink, 'netns', a.netns, 'type', 'veth', 'peer', 'name', b.peerLink, 'netns', b.netns]);
  for (const [s, o] of [[a, b], [b, a]] as const) {
    await inNs(s.netns, ['ip', 'link', 'set', s.peerLink, 'up']);
    await inNs(s.netns, ['ip', 'route', 'add', `${o.addr}/32`, 'dev', s.peerLink, 'src', s.addr]);
  }
}

/** The `ip netns exec` argument lists that put a drop on (or take it off) each end of the links a cut concerns. */
function cutCommands(plan: LabNetwork, site: number, what: LabCut, on: boolean): string[][] {
  const s = plan.sites[site];
  const o = plan.sites[1 - site];
  const qdisc = (ns: string | null, dev: string) => {
    const tc = on ? ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'pfifo', 'limit', '0'] : ['tc', 'qdisc', 'del', 'dev', dev, 'root'];
    return ns ? ['ip', 'netns', 'exec', ns, ...tc] : tc;
  };
  const cmds = [qdisc(s.netns, s.peerLink), qdisc(o.netns, o.peerLink)];
  if (what === 'all') cmds.push(qdisc(s.netns, s.siteLink), qdisc(null, s.rootLink));
  return cmds;
}

/**
 * Cut site `site` (index): 'all' drops every packet between it and anybody else (clients in the root
 * namespace and the other site), 'peer' only those between the two sites. Synchronous (a few `tc` calls, each
 * bounded), so that a test can cut from inside an event handler before the next request goes out.
 */
export function cutSync(plan: LabNetwork, site: number, what: LabCut): void {
  for (const [file, ...args] of cutCommands(plan, site, what, true)) execFileSync(file, args, { timeout: IP_TIMEOUT_MS, stdio: 'pipe' });
}

/** Take every drop of the lab's network off (idempotent: a link with no drop is left as it is). */
export async function healNetwork(plan: LabNetwork): Promise<void> {
  for (const [file, ...args] of cutCommands(plan, 0, 'all', false).concat(cutCommands(plan, 1, 'all', false))) {
    await run(file, args, { timeoutMs: IP_TIMEOUT_MS }).catch(() => undefined); // "no qdisc": nothing to take off
  }
}
