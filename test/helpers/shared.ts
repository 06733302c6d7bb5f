/**
 * Locates the ISO 20022 reference material (`../shared/iso20022` beside the repository).
 * Tests that need it call `sharedIso20022(t)`: it returns the directory, or skips the test with a clear message
 * when the material is absent. Under CI=true its absence is a failure, never a skip.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

const repoRoot = resolve(import.meta.dirname, '..', '..');
export const SHARED_ISO20022_DIR = resolve(repoRoot, '..', 'shared', 'iso20022');

export function sharedIso20022Available(): boolean {
  return existsSync(join(SHARED_ISO20022_DIR, 'xsd')) && existsSync(join(SHARED_ISO20022_DIR, 'samples'));
}

/** Returns the shared iso20022 directory, or skips `t` (fails under CI=true) when it is absent. */
export function sharedIso20022(t: TestContext): string | undefined {
  if (sharedIso20022Available()) return SHARED_ISO20022_DIR;
  const message = `ISO 20022 reference material not found at ../shared/iso20022 (beside the repository)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI requires it`);
  t.skip(message);
  return undefined;
}

/** Lists the .xml files of one samples folder ('' for the valid ones, or 'invalid-xsd' and so on). */
export function sampleFiles(folder: '' | 'invalid-xsd' | 'invalid-builtin' | 'invalid-rules'): string[] {
  const dir = join(SHARED_ISO20022_DIR, 'samples', folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((f) => join(dir, f));
}
