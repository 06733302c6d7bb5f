/**
 * Client secrets: generation, and a slow salted hash (scrypt from node:crypto, no native dependency) with a
 * constant-time comparison. The parameters are stored in each hash, so the cost can be raised later without
 * invalidating existing secrets.
 *
 * Secrets are 256 random bits, so guessing them is hopeless with any hash; the slow hash protects a stolen
 * database copy against secrets that an operator chose by hand, and it costs about 0.1 s of a thread-pool thread per
 * token request, which is why tokens are long-lived and requests verify tokens, never secrets.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SECRET_PREFIX = 'mxs_';
const SECRET_BYTES = 32;
/** Longest secret the token endpoint hashes; longer ones are refused before any work. */
export const SECRET_LENGTH_MAX = 256;

/** scrypt cost: N = 2^15, r = 8, p = 1 uses 32 MiB per hash (OWASP's floor for scrypt is N = 2^17 with r = 8 for passwords). */
const COST = { logN: 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scryptAsync(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function params(logN: number, r: number, p: number): ScryptOptions {
  const N = 2 ** logN;
  // maxmem must exceed 128 * N * r; give it twice that.
  return { N, r, p, maxmem: 256 * N * r };
}

/** A new random client secret (prefixed so that secret scanners can recognise it). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

/** `scrypt$<logN>$<r>$<p>$<salt base64url>$<hash base64url>` */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, params(COST.logN, COST.r, COST.p));
  return ['scrypt', COST.logN, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

const ENCODED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([\w-]{16,64})\$([\w-]{16,128})$/;

/** Whether `secret` matches the encoded hash; false for a malformed hash. The comparison takes constant time. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const m = ENCODED.exec(encoded);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(m[4]!, 'base64url'), params(logN, r, p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/** A hash of nothing anyone knows: verifying against it takes as long as a real check (for unknown client ids). */
export function dummySecretHash(): Promise<string> {
  dummyHash ??= hashSecret(randomBytes(SECRET_BYTES).toString('base64url'));
  return dummyHash;
}
