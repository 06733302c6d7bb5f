/**
 * A downstream payment system for end-to-end tests: a real HTTP server on loopback that records what the hub
 * forwards to it (with the X-Transaction-Id header) and answers as told (202 and nothing, by default). It also
 * stands for a client's webhook receiver: every request is recorded with its path and headers.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { once } from 'node:events';
import { startE2eHub, type E2eEngine, type E2eHub } from './e2e.js';

export interface Received {
  transactionId: string;
  xml: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export class Downstream {
  readonly received: Received[] = [];
  answer: (xml: string, request: { path: string }) => { status: number; body: string } = () => ({ status: 202, body: '' });
  #server: Server | null = null;
  /** http://127.0.0.1:port: any path on it reaches this server. */
  base = '';
  /** Where the hub forwards payments. */
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const xml = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        this.received.push({ transactionId: String(req.headers['x-transaction-id']), xml, path, headers: req.headers });
        const { status, body } = this.answer(xml, { path });
        res.writeHead(status, { 'content-type': 'application/xml' }).end(body);
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    const address = this.#server.address();
    this.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    this.url = `${this.base}/payments`;
  }

  /** Whether the payment reached the system, waiting for it up to `timeoutMs`. */
  async reached(transactionId: string, timeoutMs = 5000): Promise<boolean> {
    for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
      if (this.received.some((r) => r.transactionId === transactionId)) return true;
    }
    return this.received.some((r) => r.transactionId === transactionId);
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}

/** A hub whose accepted payments go to a downstream system in async mode, and the tokens of both sides. */
export interface AsyncDownstreamHub {
  e: E2eHub<'answering'>;
  downstream: Downstream;
  /** A sending client's token. */
  token: string;
  /** The token of the client the downstream system posts its answers as (downstream.answerClientIds). */
  answerToken: string;
  close(): Promise<void>;
}

export async function startAsyncDownstream(engine: E2eEngine, workflow: Record<string, unknown>): Promise<AsyncDownstreamHub> {
  const downstream = new Downstream();
  await downstream.start();
  // The answering system's client must be named in the configuration: it is created before the hub starts.
  const e = await startE2eHub(
    (clients) => ({ downstream: { url: downstream.url, mode: 'async', answerClientIds: [clients.answering.id] }, workflow }),
    { engine, clients: { answering: { name: 'payment-system' } } },
  );
  const { token } = await e.token();
  const answerToken = await e.tokenOf(e.clients.answering);
  return {
    e,
    downstream,
    token,
    answerToken,
    close: async () => {
      await e.close();
      await downstream.stop();
    },
  };
}
