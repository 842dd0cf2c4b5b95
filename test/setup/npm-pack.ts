/**
 * `npm pack --json`, as npm 11 and npm 12 print it: npm ≤ 11 prints an array
 * with one entry per packed package, npm 12 an object keyed by package name.
 * packResults() takes either and gives the array.
 */
export interface PackResult {
  id: string;
  name: string;
  version: string;
  filename: string;
  files: Array<{ path: string; size: number; mode: number }>;
  [key: string]: unknown;
}

export function packResults(json: string): PackResult[] {
  const parsed = JSON.parse(json) as unknown;
  const list = Array.isArray(parsed)
    ? parsed
    : parsed !== null && typeof parsed === 'object'
      ? Object.values(parsed as Record<string, unknown>)
      : undefined;
  if (!list || list.length === 0 || !list.every((r) => r !== null && typeof r === 'object' && Array.isArray((r as PackResult).files))) {
    throw new Error(`npm pack --json printed neither an array nor an object of results with files: ${json.slice(0, 200)}`);
  }
  return list as PackResult[];
}
