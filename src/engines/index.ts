/** Picks the engine from the configuration: distributed when store and queues URLs are set, else embedded. */
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import { openEmbeddedEngine, type Engine } from './embedded.js';
import { openDistributedEngine } from './distributed.js';

export type { Engine, OutboxStats, StoreStats } from './embedded.js';

export async function openEngine(options: { config: Config; clock: Clock; ids: IdGenerator; logger: Logger }): Promise<Engine> {
  return options.config.store === null ? openEmbeddedEngine(options) : openDistributedEngine(options);
}
