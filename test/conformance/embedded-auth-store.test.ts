import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { SqliteAuthStore } from '../../src/storage/sqlite/auth.js';
import { SqliteDatabase } from '../../src/storage/sqlite/database.js';
import { authStoreConformance } from './auth-store.suite.js';

authStoreConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-auth-'));
  // Two connections to one file: the hub and a `mxgate clients` command side by side.
  const open = () => new SqliteDatabase({ path: join(dir, 'mxgate.db'), commitBatchMax: 64, busyTimeoutMs: 5000, logger: silentLogger() });
  const first = open();
  const auth = new SqliteAuthStore(first);
  const second = open();
  const other = new SqliteAuthStore(second);
  return {
    auth,
    other,
    close: async () => {
      await first.close();
      await second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
