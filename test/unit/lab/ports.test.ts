/**
 * test/setup/ports.ts: every lab a test starts takes its ports from
 * XRBD_LAB_BASE_PORT, in ranges that do not overlap and stay below base + 1000,
 * so two runs with bases 1000 apart never share a port.
 */
type PortsModule = typeof import('../../setup/ports');

function portsWith(env: Record<string, string | undefined>): PortsModule {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    let m: PortsModule | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      m = require('../../setup/ports') as PortsModule;
    });
    return m as PortsModule;
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

const none = { XRBD_LAB_BASE_PORT: undefined, XRBD_FAULTS_BASE_PORT: undefined, BENCH_BASE_PORT: undefined };
/** Each lab's port range: [first, last]. */
const ranges = (p: PortsModule['PORTS']): Array<[string, number, number]> => [
  ['sharedLab', p.sharedLab, p.sharedLab + 199],
  ['labRobustness', p.labRobustness, p.labRobustness + 99],
  ['labFaults', p.labFaults, p.labFaults + 199],
  ['drDemo', p.drDemo, p.drDemo + 199],
  ['bench', p.bench, p.bench + 99],
];

test('the default base 17100 gives 17100, 17500, 17600, 17800, 18000', () => {
  expect(portsWith(none).PORTS).toEqual({ sharedLab: 17100, labRobustness: 17500, labFaults: 17600, drDemo: 17800, bench: 18000 });
});

test('every port moves with XRBD_LAB_BASE_PORT', () => {
  expect(portsWith({ ...none, XRBD_LAB_BASE_PORT: '24100' }).PORTS).toEqual({ sharedLab: 24100, labRobustness: 24500, labFaults: 24600, drDemo: 24800, bench: 25000 });
});

test('the ranges of one run do not overlap, stay below base + 1000, nor meet those of a run 1000 above', () => {
  const one = ranges(portsWith({ ...none, XRBD_LAB_BASE_PORT: '24100' }).PORTS);
  expect(Math.max(...one.map((r) => r[2]))).toBeLessThan(24100 + 1000);
  const all = [...one, ...ranges(portsWith({ ...none, XRBD_LAB_BASE_PORT: '25100' }).PORTS)];
  const overlaps = all.flatMap((a, i) => all.slice(i + 1).filter((b) => a[1] <= b[2] && b[1] <= a[2]).map((b) => `${a[0]}@${a[1]} / ${b[0]}@${b[1]}`));
  expect(overlaps).toEqual([]);
});

test('XRBD_FAULTS_BASE_PORT and BENCH_BASE_PORT still override their lab', () => {
  expect(portsWith({ XRBD_LAB_BASE_PORT: '24100', XRBD_FAULTS_BASE_PORT: '30000', BENCH_BASE_PORT: '31000' }).PORTS).toMatchObject({ labFaults: 30000, bench: 31000, sharedLab: 24100 });
});

test('a base that is not a port number is a RangeError naming the variable', () => {
  expect(() => portsWith({ ...none, XRBD_LAB_BASE_PORT: 'x' })).toThrow(RangeError);
  expect(() => portsWith({ ...none, XRBD_LAB_BASE_PORT: '64000' })).toThrow(/XRBD_LAB_BASE_PORT=64000: want a port number/);
});
