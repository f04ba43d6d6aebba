// User and group names to ids, from /etc/passwd and /etc/group (numbers are taken as they are).
import { readFileSync } from 'node:fs';

interface UserEntry {
  name: string | undefined;
  uid: number;
  gid: number | undefined;
  /** The passwd home directory and login shell; undefined for a uid with no passwd entry. */
  home: string | undefined;
  shell: string | undefined;
}

function table(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

const isId = (s: string) => /^\d+$/.test(s) && Number(s) < 2 ** 32 - 1;

export function lookupUser(spec: string): UserEntry | undefined {
  const rows = table('/etc/passwd');
  const row = isId(spec) ? rows.find((r) => r[2] === spec) : rows.find((r) => r[0] === spec);
  if (row) return { name: row[0], uid: Number(row[2]), gid: Number(row[3]), home: row[5], shell: row[6] };
  return isId(spec) ? { name: undefined, uid: Number(spec), gid: undefined, home: undefined, shell: undefined } : undefined;
}

export function lookupGroup(spec: string): number | undefined {
  if (isId(spec)) return Number(spec);
  const row = table('/etc/group').find((r) => r[0] === spec);
  return row ? Number(row[2]) : undefined;
}

/** A gid's name in /etc/group, else the number. */
export function groupName(gid: number): string {
  return table('/etc/group').find((r) => r[2] === String(gid))?.[0] ?? String(gid);
}
