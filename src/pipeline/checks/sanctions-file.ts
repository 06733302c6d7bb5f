/**
 * The sanctions list file: read once at start (a missing or bad file stops the start), then polled for changes
 * and reloaded in the background.
 *
 * States:
 *
 *   start --read ok--> serving(list) --poll: inode/size/mtime/ctime changed--> reading
 *   start --read or parse fails--> throws CONFIG_INVALID (the hub does not start without its list)
 *   reading --ok--> serving(new list)            (logged, 'reloaded' emitted)
 *   reading --fails--> serving(previous list)    (logged once per failing version, 'failed' emitted)
 *   serving --close()--> closed                  (no more polls)
 *
 * Polling (not fs.watch) because it behaves the same on every platform and file system, survives the file being
 * replaced by a rename, and is bounded: one stat per interval, one read per change. The stat is taken before the
 * read, so a write that lands during the read changes the signature again and is read on the next poll.
 * Replace the file atomically (write a temporary file, rename it over the list) to never expose a half-written one.
 */
import { EventEmitter } from 'node:events';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { MxError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseSanctionsList, type SanctionsList } from './sanctions.js';

export interface SanctionsFileOptions {
  path: string;
  reloadIntervalMs: number;
  fileBytesMax: number;
  entriesMax: number;
  logger: Logger;
}

export type RefreshResult = 'unchanged' | 'reloaded' | 'failed';

const signature = (s: Stats) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

export class SanctionsListFile extends EventEmitter<{ reloaded: [{ entries: number }]; failed: [{ error: Error }] }> {
  readonly #o: SanctionsFileOptions;
  #list: SanctionsList;
  /** Signature of the file version last read (whether it loaded or failed), or of the last stat error. */
  #seen: string;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<RefreshResult> | undefined;
  #closed = false;
  readonly stats = { reloads: 0, failures: 0 };

  /** Reads the list now; throws CONFIG_INVALID when the file is missing, too large, not UTF-8 or malformed. */
  constructor(options: SanctionsFileOptions) {
    super();
    this.#o = options;
    try {
      const s = statSync(options.path);
      this.#list = this.#parse(s, readFileSync(options.path));
      this.#seen = signature(s);
    } catch (cause) {
      throw new MxError('CONFIG_INVALID', `sanctions list ${options.path}: ${(cause as Error).message}`, { cause });
    }
    options.logger.info({ file: options.path, entries: this.#list.size }, 'sanctions list loaded');
  }

  /** The list in force. */
  current(): SanctionsList {
    return this.#list;
  }

  /** Starts polling every reloadIntervalMs; the timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.refresh(), this.#o.reloadIntervalMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One poll: stat the file and reload it when it changed. Concurrent calls share one poll. Never throws. */
  refresh(): Promise<RefreshResult> {
    this.#polling ??= this.#refresh().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #refresh(): Promise<RefreshResult> {
    if (this.#closed) return 'unchanged';
    let s: Stats;
    try {
      s = await stat(this.#o.path);
    } catch (cause) {
      return this.#fail(`stat:${(cause as NodeJS.ErrnoException).code ?? 'error'}`, cause);
    }
    const version = signature(s);
    if (version === this.#seen) return 'unchanged';
    let list: SanctionsList;
    try {
      list = this.#parse(s, await readFile(this.#o.path));
    } catch (cause) {
      return this.#fail(version, cause);
    }
    if (this.#closed) return 'unchanged';
    this.#seen = version;
    this.#list = list;
    this.stats.reloads += 1;
    this.#o.logger.info({ file: this.#o.path, entries: list.size }, 'sanctions list reloaded');
    this.emit('reloaded', { entries: list.size });
    return 'reloaded';
  }

  #fail(version: string, cause: unknown): RefreshResult {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    this.stats.failures += 1;
    if (version !== this.#seen) {
      this.#seen = version;
      this.#o.logger.error({ file: this.#o.path, err: error, entries: this.#list.size }, 'sanctions list not reloaded; the previous list stays in force');
    }
    this.emit('failed', { error });
    return 'failed';
  }

  #parse(s: Stats, bytes: Uint8Array): SanctionsList {
    if (s.size > this.#o.fileBytesMax || bytes.byteLength > this.#o.fileBytesMax) {
      throw new Error(`the file is larger than fileBytesMax (${this.#o.fileBytesMax} bytes)`);
    }
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return parseSanctionsList(text, { entriesMax: this.#o.entriesMax });
  }
}
