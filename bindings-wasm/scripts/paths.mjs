// Where the conformance corpora are: the repository's own `tests/conformance`,
// then an optional extra one ($MESHROUTE_CONFORMANCE, else the `conformance`
// folder of $MESHROUTE_SHARED_DIR, else `../shared/conformance` beside the
// repository checkout) when it exists.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const crateDir = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const repoDir = resolve(crateDir, '..');

/** The repository's conformance corpus. */
export const conformanceDir = join(repoDir, 'tests', 'conformance');

/** Every corpus to run: the repository's, then the extra one when present. */
export function conformanceDirs() {
  const extra = [
    process.env.MESHROUTE_CONFORMANCE,
    process.env.MESHROUTE_SHARED_DIR && join(process.env.MESHROUTE_SHARED_DIR, 'conformance'),
    join(repoDir, '..', 'shared', 'conformance'),
  ].find((dir) => dir && existsSync(dir));
  return extra ? [conformanceDir, extra] : [conformanceDir];
}
