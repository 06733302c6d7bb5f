import { randomBytes, randomUUID } from 'node:crypto';

/** Identifier generation. Ids are strings; uniqueness is also enforced by the store where it matters. */
export interface IdGenerator {
  /** An RFC 9562 version 4 UUID, lower case. */
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

export const randomIds: IdGenerator = {
  uuid: () => randomUUID(),
  token: (bytes = 16) => randomToken(bytes),
};
