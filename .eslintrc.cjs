/* ESLint (legacy config, eslint 8): TypeScript sources everywhere, type-aware rules off to keep lint fast. */
module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { ecmaVersion: 'latest', sourceType: 'module' },
  plugins: ['@typescript-eslint'],
  extends: ['eslint:recommended', 'plugin:@typescript-eslint/recommended'],
  env: { node: true, es2022: true },
  ignorePatterns: ['dist/', 'node_modules/', '/openapi/', '.tap/', 'test-artifacts/', 'bench/results/'],
  rules: {
    '@typescript-eslint/no-explicit-any': 'off',
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    '@typescript-eslint/no-empty-object-type': 'off',
    '@typescript-eslint/no-unsafe-function-type': 'off',
    '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': false }],
    'no-constant-condition': ['error', { checkLoops: false }],
    eqeqeq: ['error', 'smart'],
    'prefer-const': 'error'
  },
  overrides: [
    { files: ['**/*.mjs', '**/*.cjs', '**/*.js'], parser: 'espree' },
    { files: ['examples/**/public/**/*.js'], env: { browser: true, node: false } }
  ]
}
