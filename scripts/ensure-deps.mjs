// Installs dependencies when they are missing or older than package-lock.json, so that
// `npm start` and `npm test` work on a fresh clone with nothing but Node.js.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installed = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');

if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) process.exit(0);

const env = { ...process.env };
// better-sqlite3 builds from source here; Debian's Node keeps its headers under /usr/include/node,
// and node-gyp would otherwise try to download them.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
console.log('Installing dependencies (first run; the SQLite driver may build from source, about a minute)...');
execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit', env });
