/**
 * Entry of an XmlPool worker thread (xml-pool.ts): answers each request with the result of the same pure
 * function the event loop would have run (xml-work.ts), or with the error it threw, described so that the pool
 * can raise it again with its code. It keeps nothing between requests.
 */
import { parentPort } from 'node:worker_threads';
import { isMxError } from '../errors.js';
import { readSubmission } from './submission.js';
import { reportFromXml, withFindings } from './xml-work.js';
import type { XmlReply, XmlRequest } from './xml-pool.js';

const port = parentPort;
if (port === null) throw new Error('xml-worker runs as a worker thread');

function handle(request: XmlRequest): unknown {
  if (request.op === 'read') {
    const { message, xml: _xml, ...data } = readSubmission(request.input);
    return withFindings(data, message, request.clientProfile);
  }
  return reportFromXml(request.xml, request.outcome, request.ids);
}

port.on('message', (request: XmlRequest) => {
  let reply: XmlReply;
  try {
    reply = { id: request.id, ok: true, result: handle(request) };
  } catch (error) {
    reply = isMxError(error)
      ? { id: request.id, ok: false, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } }
      : { id: request.id, ok: false, error: { message: error instanceof Error ? (error.stack ?? error.message) : String(error) } };
  }
  port.postMessage(reply);
});
