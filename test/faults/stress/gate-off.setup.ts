// For the stress runs of scripts/stress-workarounds.sh ONLY (README "Known issues"):
// the property suite with the SDK's role gate (lib/image/role-gate.ts) bypassed, to
// see whether the librbd it runs on still crashes when another handle asks for the
// exclusive lock in the middle of a demote. Loaded through jest.gate-off.config.js,
// never by the faults project: the SDK itself has no switch for this. The native
// calls stay real (nothing of librbd is mocked): only the SDK's own gate is
// replaced by one that admits every call at once and runs role changes directly.
jest.mock('../../../lib/image/role-gate', () => {
  const actual = jest.requireActual('../../../lib/image/role-gate');
  return {
    ...actual,
    admitted: () => undefined,
    withRoleChange: <T>(_g: unknown, _image: unknown, fn: () => Promise<T>): Promise<T> => fn(),
  };
});
process.stderr.write('[gate-off] the SDK role gate is bypassed in this run (stress run, test/faults/stress)\n');
