// Making a directory path one level at a time: Node's recursive mkdirSync (20 and 22) never
// returns for some impossible paths under /proc, so nothing here asks it to.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Only ENOENT means missing: anything else there (a file, no permission) stops the walk up. */
function missing(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The levels of dir that do not exist yet, outermost first ([] when dir exists). */
export function missingLevels(dir: string): string[] {
  const levels: string[] = [];
  for (let at = dir; missing(at) && dirname(at) !== at; at = dirname(at)) levels.unshift(at);
  return levels;
}

/** The nearest level of dir that exists (dir itself, or the parent of the outermost missing one). */
export const nearestExisting = (dir: string, missing: string[]): string => (missing.length === 0 ? dir : dirname(missing[0]!));
