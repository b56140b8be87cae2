// ESLint (flat config) with typescript-eslint: its recommended rules everywhere, and two type-aware
// rules that matter in a queue worker: a promise nobody awaits or catches (no-floating-promises)
// and a promise handed where a plain value or a void callback is expected (no-misused-promises) lose
// failures silently. Types come from the nearest tsconfig.json of each file (the root one, the
// page's, the browser test's). Run by `npm run lint`, which `npm test` calls.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['node_modules/', 'cdk.out/', 'dist/', 'out/', 'test-output/', '.greenscreen/', '.tmp/', 'bench/imgly/', 'bench/.bench-*/', 'models/'],
  },
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
