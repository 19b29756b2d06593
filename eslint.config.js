// Lint: TypeScript rules plus the architecture's import boundaries.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noElectron = { name: 'electron', message: 'Only electron/ may import Electron; the core must run under plain Node.' };
const noNode = nodeBuiltins.map((name) => ({ name, message: 'shared/ and renderer/ are pure: no Node built-ins.' }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'release/**', 'test-output/**', 'coverage/**', 'bench/data/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noElectron, ...noNode],
        patterns: [{ group: ['**/core/**', '**/electron/**', '**/renderer/**', '**/sdk/**'], message: 'shared/ depends on nothing but itself.' }],
      }],
    },
  },
  {
    files: ['core/**/*.ts', 'sdk/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noElectron],
        patterns: [{ group: ['**/electron/**', '**/renderer/**'], message: 'The Node core must not depend on the Electron shell or the renderer.' }],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noElectron, ...noNode],
        patterns: [{ group: ['**/core/**', '**/electron/**'], message: 'The renderer talks to the typed API only (shared/ipc).' }],
      }],
    },
  },
  {
    files: ['scripts/**', 'bin/**', 'tests/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
