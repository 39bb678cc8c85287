// Where the shared spec and conformance folder is: $MESHROUTE_SHARED_DIR, else
// `../shared` beside the repository checkout (as CI has it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const crateDir = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const repoDir = resolve(crateDir, '..');

export function sharedDir() {
  const dir = process.env.MESHROUTE_SHARED_DIR ?? join(repoDir, '..', 'shared');
  if (!existsSync(join(dir, 'conformance'))) {
    throw new Error(`no conformance folder in ${dir}: set MESHROUTE_SHARED_DIR to the shared folder`);
  }
  return dir;
}
