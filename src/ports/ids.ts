import { randomBytes, randomUUID } from 'node:crypto';

/** Identifier generation. Ids are strings; uniqueness is also enforced by the store where it matters. */
export interface IdGenerator {
  /** An RFC 9562 version 4 UUID, lower case. */
  uuid(): string;
  /** An opaque random token of the given byte length, base64url without padding. */
  token(bytes?: number): string;
}

export const randomIds: IdGenerator = {
  uuid: () => randomUUID(),
  token: (bytes = 16) => randomBytes(bytes).toString('base64url'),
};
