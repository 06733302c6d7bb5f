/**
 * A downstream payment system for end-to-end tests: a real HTTP server on loopback that records what the hub
 * forwards to it (with the X-Transaction-Id header) and answers as told (202 and nothing, by default).
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';

export class Downstream {
  readonly received: Array<{ transactionId: string; xml: string }> = [];
  answer: (xml: string) => { status: number; body: string } = () => ({ status: 202, body: '' });
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const xml = Buffer.concat(chunks).toString('utf8');
        this.received.push({ transactionId: String(req.headers['x-transaction-id']), xml });
        const { status, body } = this.answer(xml);
        res.writeHead(status, { 'content-type': 'application/xml' }).end(body);
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    const address = this.#server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/payments`;
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
