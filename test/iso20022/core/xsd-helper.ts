/** The project's XSD validator over the shared schema directory, for tests that check built messages. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ISO_NS_PREFIX } from '../../../src/iso20022/index.js';
import { SchemaValidator } from '../../../src/iso20022/validation/xsd.js';
import { SHARED_ISO20022_DIR } from '../../helpers/shared.js';

export function sharedSchemaValidator(): SchemaValidator {
  return new SchemaValidator({
    source: (namespace) => {
      const file = join(SHARED_ISO20022_DIR, 'xsd', `${namespace.slice(ISO_NS_PREFIX.length)}.xsd`);
      return namespace.startsWith(ISO_NS_PREFIX) && existsSync(file) ? readFileSync(file) : undefined;
    },
  });
}
