/**
 * The workflow's dependencies for tests that drive it in process on an engine: wired as the hub wires them, less
 * what such a test does without (no XSD directory, no checks, no scheme profile per client) unless it says so.
 */
import type { Config } from '../../src/config/schema.js';
import type { Engine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { WorkflowDeps } from '../../src/pipeline/context.js';

export function workflowDeps(engine: Engine, config: Config, overrides: Partial<WorkflowDeps> = {}): WorkflowDeps {
  return {
    store: engine.store,
    queues: engine.queues,
    clock: systemClock,
    ids: randomIds,
    logger: silentLogger(),
    config: { ...config.workflow, maxMessageBytes: config.http.bodyLimitBytes },
    schemas: undefined,
    checks: [],
    downstream: config.downstream,
    clientProfile: async () => null,
    ...overrides,
  };
}
