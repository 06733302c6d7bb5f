/**
 * `mxgate queues ...` against a real hub: the CLI runs as a child process and talks HTTP to a hub started in
 * this process on a free loopback port with a fresh data directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { startHub, type RunningHub } from '../../src/main.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const cliEntry = join('src', 'cli', 'main.ts');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let hub: RunningHub;
let dataDir: string;

/** Runs the CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
function cli(args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', cliEntry, 'queues', '--url', hub.url, '--data-dir', dataDir, ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && code === -1) return reject(error);
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await cli(args, input);
  assert.equal(result.code, 0, `mxgate queues ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function stats(name: string): Promise<{ metrics: { visible: number; in_flight: number; delayed: number } }> {
  return JSON.parse(await ok(['stats', name, '--json'])) as { metrics: { visible: number; in_flight: number; delayed: number } };
}

describe('mxgate queues (CLI over HTTP)', { concurrency: 4 }, () => {
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mxgate-cli-'));
    hub = await startHub(loadConfig({ overrides: { dataDir, port: 0, logLevel: 'silent' } }));
  });

  after(async () => {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a queue with every attribute, sends, receives with --delete, and reports stats', async () => {
    await ok(['create', 'cli-dlq']);
    const created = JSON.parse(
      await ok([
        'create', 'cli-work', '--json',
        '--visibility-timeout-s', '45', '--max-receive-count', '3', '--dead-letter-queue', 'cli-dlq',
        '--retention-s', '3600', '--delay-s', '0', '--max-message-bytes', '4096',
      ]),
    ) as Record<string, unknown>;
    assert.deepEqual(
      { ...created, created_at: undefined },
      {
        name: 'cli-work', fifo: false, content_based_dedup: false, visibility_timeout_s: 45, max_receive_count: 3,
        dead_letter_queue: 'cli-dlq', retention_s: 3600, delay_s: 0, max_message_bytes: 4096, created_at: undefined,
      },
    );

    const sent = JSON.parse(await ok(['send', 'cli-work', '--body', 'first', '--attribute', 'kind=test', '--json'])) as { message_id: string; duplicate: boolean };
    assert.equal(sent.duplicate, false);
    assert.match(await ok(['send', 'cli-work'], 'from stdin'), /^sent /);
    assert.equal((await stats('cli-work')).metrics.visible, 2);

    const received = JSON.parse(await ok(['receive', 'cli-work', '--max', '10', '--delete', '--json'])) as Array<{ message_id: string; body: string; attributes: Record<string, string> }>;
    assert.deepEqual(received.map((m) => m.body).sort(), ['first', 'from stdin']);
    assert.deepEqual(received.find((m) => m.message_id === sent.message_id)?.attributes, { kind: 'test' });
    const drained = await stats('cli-work');
    assert.deepEqual(drained.metrics, { ...drained.metrics, visible: 0, in_flight: 0, delayed: 0 });

    const text = await ok(['stats', 'cli-work']);
    assert.match(text, /^dead_letter_queue\s+cli-dlq$/m);
    assert.match(text, /^in_flight\s+0$/m);
  });

  it('creates a FIFO queue and keeps the order of a group', async () => {
    await ok(['create', 'cli-orders', '--fifo', '--content-based-dedup']);
    for (const body of ['a', 'b', 'c']) await ok(['send', 'cli-orders', '--body', body, '--group-id', 'g1']);
    const dup = JSON.parse(await ok(['send', 'cli-orders', '--body', 'a', '--group-id', 'g1', '--json'])) as { duplicate: boolean };
    assert.equal(dup.duplicate, true);
    const received = JSON.parse(await ok(['receive', 'cli-orders', '--max', '10', '--json'])) as Array<{ body: string; group_id: string }>;
    assert.deepEqual(received.map((m) => [m.body, m.group_id]), [['a', 'g1'], ['b', 'g1'], ['c', 'g1']]);
  });

  it('lists queues as a table and as JSON', async () => {
    await ok(['create', 'cli-listed']);
    await ok(['send', 'cli-listed', '--body', 'x']);
    const lines = (await ok(['list'])).trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+KIND\s+VISIBLE\s+IN FLIGHT\s+DELAYED\s+OLDEST AGE S$/);
    assert.ok(lines.some((l) => /^cli-listed\s+standard\s+1\s+0\s+0\s+\d+$/.test(l)), lines.join('\n'));
    const json = JSON.parse(await ok(['list', '--json'])) as Array<{ name: string }>;
    assert.ok(json.some((x) => x.name === 'cli-listed'));
  });

  it('purges a queue', async () => {
    await ok(['create', 'cli-purged']);
    await ok(['send', 'cli-purged', '--body', '1']);
    await ok(['send', 'cli-purged', '--body', '2']);
    assert.equal(await ok(['purge', 'cli-purged']), 'purged 2 message(s)\n');
    assert.equal((await stats('cli-purged')).metrics.visible, 0);
  });

  it('redrives dead-lettered messages back to their queue', async () => {
    await ok(['create', 'cli-rd-dlq']);
    await ok(['create', 'cli-rd', '--dead-letter-queue', 'cli-rd-dlq', '--max-receive-count', '1']);
    await ok(['send', 'cli-rd', '--body', 'poison']);
    // First receive (visibility 0: visible again at once) uses the one allowed receive; the next moves it.
    assert.equal(JSON.parse(await ok(['receive', 'cli-rd', '--visibility-s', '0', '--json'])).length, 1);
    assert.equal(JSON.parse(await ok(['receive', 'cli-rd', '--json'])).length, 0);
    assert.equal((await stats('cli-rd-dlq')).metrics.visible, 1);

    assert.equal(await ok(['redrive', 'cli-rd-dlq']), 'moved 1 message(s)\n');
    assert.equal((await stats('cli-rd')).metrics.visible, 1);
    assert.equal((await stats('cli-rd-dlq')).metrics.visible, 0);
  });

  it('deletes a queue', async () => {
    await ok(['create', 'cli-gone']);
    await ok(['delete', 'cli-gone']);
    const result = await cli(['stats', 'cli-gone']);
    assert.notEqual(result.code, 0);
  });

  it('fails with the hub error code on an unknown queue', async () => {
    const result = await cli(['stats', 'no-such-queue']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^mxgate: QUEUE_NOT_FOUND: /m);
    assert.equal(result.stdout, '');

    const send = await cli(['send', 'no-such-queue', '--body', 'x']);
    assert.notEqual(send.code, 0);
    assert.match(send.stderr, /QUEUE_NOT_FOUND/);
  });

  it('fails clearly when the hub cannot be reached', async () => {
    const result = await new Promise<CliResult>((resolvePromise) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', cliEntry, 'queues', '--url', 'http://127.0.0.1:1', 'list'],
        { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
        (error, stdout, stderr) => resolvePromise({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr }),
      );
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^mxgate: HUB_UNREACHABLE: /m);
  });
});
