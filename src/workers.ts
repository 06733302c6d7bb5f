/**
 * Worker threads on a module of this package, the same from the build and from the sources: a module run from its
 * TypeScript source (tests, development) first registers tsx in the thread.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether this package runs from its TypeScript sources rather than from the build. */
const FROM_SOURCES = extname(fileURLToPath(import.meta.url)) === '.ts';

/** The URL of the worker entry `name` (without extension) beside the module at `base` (its import.meta.url). */
export function workerEntry(base: string, name: string): URL {
  return new URL(`./${name}${FROM_SOURCES ? '.ts' : '.js'}`, base);
}

/** Starts a worker on the entry `url` (from workerEntry), passing it `workerData`. */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!FROM_SOURCES) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
