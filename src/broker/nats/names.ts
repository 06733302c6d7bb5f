/**
 * How queues map onto JetStream names: streams, subjects, consumers and KV keys. Queue names allow characters
 * (".", upper case) that subjects and stream names give meaning to, so every queue gets a key made of base32
 * (lower case, no padding) of its name, which is safe in all of them and reversible.
 *
 *   stream    <PREFIX>_<key>                       one per queue, WorkQueue retention
 *   subjects  <prefix>.<key>.<group>.n             a message visible at once
 *             <prefix>.<key>.<group>.d.<visibleAt> a delayed message (visibleAt: Clock ms), so that metrics can
 *                                                  count delayed messages from per-subject counts alone
 *             <group> is "_" on standard queues, a hash of the group id on FIFO queues
 *   consumer  worker                               one durable pull consumer per stream
 *   KV        <PREFIX>_queues  <key>               queue attributes
 *             <PREFIX>_state   r.<key>.<seq>       the current receipt of a message (see queues.ts)
 *             <PREFIX>_dedup   d.<key>.<hash>      a dedup key and the message it stands for
 */
import { createHash } from 'node:crypto';
import type { QueueAttributes } from '../../ports/queues.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function unbase32(key: string): string {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of key) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) throw new Error(`assertion failed: ${JSON.stringify(key)} is not a queue key`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A queue as the adapter works with it: its attributes (cached for a moment), its key and its stream. */
export interface QueueRef {
  attrs: QueueAttributes;
  key: string;
  stream: string;
}

export const STANDARD_GROUP = '_';
export const CONSUMER = 'worker';
const PREFIX = /^[a-z][a-z0-9]{0,15}$/;

export function groupToken(groupId: string): string {
  return createHash('sha256').update(groupId).digest('hex').slice(0, 32);
}

export function hashKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 40);
}

/** Every name of one deployment (a prefix lets several hubs, or tests, share one NATS account). */
export class NatsNames {
  readonly prefix: string;
  readonly upper: string;

  constructor(prefix: string) {
    if (!PREFIX.test(prefix)) throw new Error(`assertion failed: NATS prefix ${JSON.stringify(prefix)} must match ${PREFIX}`);
    this.prefix = prefix;
    this.upper = prefix.toUpperCase();
  }

  get queuesBucket(): string {
    return `${this.upper}_queues`;
  }

  get stateBucket(): string {
    return `${this.upper}_state`;
  }

  stream(key: string): string {
    return `${this.upper}_${key}`;
  }

  streamPrefix(): string {
    return `${this.upper}_`;
  }

  subjects(key: string): string {
    return `${this.prefix}.${key}.>`;
  }

  subject(key: string, group: string, visibleAt: number | null): string {
    return visibleAt === null ? `${this.prefix}.${key}.${group}.n` : `${this.prefix}.${key}.${group}.d.${visibleAt}`;
  }

  groupSubjects(key: string, group: string): string {
    return `${this.prefix}.${key}.${group}.>`;
  }

  delayedSubjects(key: string): string {
    return `${this.prefix}.${key}.*.d.*`;
  }

  /** The visible-at time a delayed subject carries, or null. */
  visibleAtOf(subject: string): number | null {
    const parts = subject.split('.');
    return parts.length === 5 && parts[3] === 'd' ? Number(parts[4]) : null;
  }

  receiptKey(key: string, seq: number): string {
    return `r.${key}.${seq}`;
  }

  dedupKey(key: string, dedup: string): string {
    return `d.${key}.${hashKey(dedup)}`;
  }
}
