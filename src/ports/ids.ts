import { randomBytes } from 'node:crypto';

/** Identifier generation. Ids are strings; uniqueness is also enforced by the store where it matters. */
export interface IdGenerator {
  /**
   * An RFC 9562 version 7 UUID, lower case: 48 bits of Unix milliseconds, then 74 random bits. Ids made close
   * in time sort close together, so the indexes keyed by them grow at one end instead of touching a random page
   * per insert (transaction ids key five tables).
   */
  uuid(): string;
  /** An opaque random token of the given byte length, base64url without padding. */
  token(bytes?: number): string;
}

// Random bytes are drawn in blocks: one small randomBytes() call per token costs more than the rest of a receive.
const POOL_BYTES = 8192;
let pool = randomBytes(POOL_BYTES);
let poolOffset = 0;

function randomToken(bytes: number): string {
  if (bytes > POOL_BYTES) return randomBytes(bytes).toString('base64url');
  if (poolOffset + bytes > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return token;
}

function uuidV7(): string {
  if (poolOffset + 10 > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const r = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  const ms = Date.now().toString(16).padStart(12, '0');
  const hex = r.toString('hex');
  // version 7 in the high nibble of byte 6; variant 10 in the high bits of byte 8
  const randA = (0x7000 | (parseInt(hex.slice(0, 4), 16) & 0x0fff)).toString(16);
  const randB = (0x8000 | (parseInt(hex.slice(4, 8), 16) & 0x3fff)).toString(16);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${randA}-${randB}-${hex.slice(8, 20)}`;
}

export const randomIds: IdGenerator = {
  uuid: uuidV7,
  token: (bytes = 16) => randomToken(bytes),
};
