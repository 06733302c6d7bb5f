/**
 * Reads the V8 CPU profiles a hub wrote (`npm run bench -- --hub-node-option=--cpu-prof
 * --hub-node-option=--cpu-prof-dir=DIR`) and prints where its time went: the functions with the most self
 * time, and self time summed per source file or package.
 *
 *   npx tsx bench/e2e-profile.ts DIR_OR_FILE [--top 30]
 *
 * Time spent inside native code (better-sqlite3 statements, fsync, zlib, crypto) is counted in the JS function
 * that called it, as V8 sees it; "(idle)" is the event loop waiting, "(garbage collector)" is GC.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true, strict: true });
const target = positionals[0];
if (target === undefined) throw new Error('name a .cpuprofile file or a directory of them');
const files = statSync(target).isDirectory()
  ? readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f))
  : [target];
const top = Number(values.top);
const root = join(import.meta.dirname, '..');

/** A short place for a script URL: the package for node_modules, the path in the repository, or node:... */
function place(url: string): string {
  if (url === '') return '(native or V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  return path.startsWith(root) ? relative(root, path) : path;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const where = place(frame.url);
    const key = `${frame.functionName || '(anonymous)'}  ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byPlace.set(where, (byPlace.get(where) ?? 0) + us);
  }
  const idleUs = [...byFunction].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
  const busyUs = totalUs - idleUs;
  const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1).padStart(5)}%`;
  const lines = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${(us / 1000).toFixed(0).padStart(8)} ms ${pct(us, totalUs)} of all ${pct(us, busyUs)} of busy  ${k}`);
  process.stdout.write(
    [
      `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busyUs / 1e6).toFixed(1)} s not idle`,
      `self time by function (top ${top}):`,
      ...lines(byFunction),
      'self time by file or package:',
      ...lines(byPlace),
      '',
    ].join('\n'),
  );
}
