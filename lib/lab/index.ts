// @x/rbd/lab — a two-site Ceph test lab (single-node clusters on 127.0.0.1 with
// RBD mirroring between them) for this SDK's integration tests and for users' own.
// Self-contained: it drives docker/ceph-site.sh and the ceph/rbd CLIs, not the addon.
/**
 * A two-site Ceph test lab: single-node clusters on 127.0.0.1 with RBD
 * mirroring between them, for integration tests. Start one with
 * {@link Lab.start}, or reuse a running one with {@link Lab.attach}.
 *
 * @module @x/rbd/lab
 */
export { Lab, defaultLabDir, siteScriptPath, packageRoot } from './lab';
export type { LabSiteInfo, LabOptions, LabAdoptOptions, LabObjectstore, LabMirrorMode, LabDaemon, LabSignal } from './lab';
export type { ThawResult } from './thaw';
export { netnsUnavailable } from './netns';
export type { LabCut, LabNetwork, LabSiteNetwork } from './netns';
export { LabCommandError, run } from './exec';
export type { RunOptions, RunResult } from './exec';
export { findLabDaemons, findProcessesMentioning, isAlive, recordedPids } from './procs';
export type { LabProcess } from './procs';
export { withLabLock, registerLabUser, unregisterLabUser } from './lock';
