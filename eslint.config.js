// Lint rules that keep the layers apart: domain/ and iso20022/ import no infrastructure.
import tseslint from 'typescript-eslint';

const infrastructure = [
  'node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:worker_threads',
  'fs', 'fs/promises', 'net', 'http', 'https', 'child_process',
  'better-sqlite3', 'pg', 'postgres', 'nats', '@nats-io/*', 'fastify', '@fastify/*', 'pino',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/domain/**/*.ts', 'src/iso20022/**/*.ts'],
    ignores: ['src/iso20022/cli/**', 'src/iso20022/**/*.node.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: infrastructure, message: 'domain/ and iso20022/ stay free of I/O and infrastructure.' },
          { group: ['**/storage/**', '**/broker/**', '**/http/**', '**/pipeline/**', '**/cli/**', '**/config/**'], message: 'domain/ and iso20022/ import no infrastructure layer.' },
        ],
      }],
    },
  },
);
