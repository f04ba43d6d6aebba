// Every code block of README.md and docs/*.md runs as written, the way a newcomer would run it:
// as an ordinary user (a fresh raw uid, with its own HOME and XDG_RUNTIME_DIR, so the default pid
// directory is private to the test), in a directory holding the checkout's examples/, with
// `daemonocle` and `node` on PATH. Each block says what it is by its info string:
//
//   ```console  a transcript: each `$ command` is run by sh in turn, and what it prints must match
//               the lines below it (numbers, uptimes and runs of spaces may differ)
//   ```sh       commands: run by sh, each must exit 0
//   ```sh ci    commands .ci/run runs itself (the quick start), or the project's development
//               commands: each must name an npm script or a file that exists
//   ```js       a module, saved as the file the next ```console block runs with node
//   ```ini      an excerpt of a unit in systemd/ (which test/systemd.test.ts boots): every line
//               must be a line of one of them
//   ```text     not code: a synopsis, a diagram, a file format, a picture of a terminal
//
// A block with no kind, or another, fails the test: a new example has to say how it is checked.
import t from 'tap';
import type { Test } from 'tap';
import { execa } from 'execa';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { requireRoot, ROOT, sandbox, UNDER_BUN, type Sandbox } from './helpers.js';
import { canSwitchUsers, freshUids, installForOthers } from './users-harness.js';

interface Block {
  file: string;
  line: number;
  info: string;
  text: string;
}

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const KINDS = new Set(['console', 'sh', 'sh ci', 'js', 'ini', 'text']);

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    blocks.push({ file, line: i + 1, info: open[1]!.trim(), text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const ALL = DOCS.flatMap(blocksOf);
const where = (b: Block) => `${b.file}:${b.line}`;

t.test('every code block says what kind it is', async (t) => {
  for (const b of ALL) t.ok(KINDS.has(b.info), `${where(b)}: \`\`\`${b.info} is one of ${[...KINDS].join(', ')}`);
});

/** What may differ between a transcript and a run: numbers, uptimes, runs of spaces. */
function normalize(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/\b(\d+d )?(\d+h )?\d+[dhms]\b/g, 'UPTIME')
        .replace(/\d+(\.\d+)?/g, 'N')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .join('\n')
    .trim();
}

interface Scene {
  box: Sandbox;
  uid: number;
  home: string;
  env: NodeJS.ProcessEnv;
}

/** A home for a fresh uid, with examples/ and `daemonocle`, `node` (and `bun` under Bun) on its PATH. */
function scene(t: Test): Scene {
  const box = sandbox(t);
  const [uid] = freshUids();
  const { node, bin } = installForOthers(t);
  chmodSync(box.dir, 0o711);
  const home = join(box.dir, 'home');
  const tools = join(box.dir, 'bin');
  mkdirSync(tools, { mode: 0o755 });
  writeFileSync(join(tools, 'daemonocle'), `#!/bin/sh\nexec ${node} ${bin} "$@"\n`, { mode: 0o755 });
  symlinkSync(UNDER_BUN ? process.execPath : node, join(tools, 'node'));
  if (UNDER_BUN) {
    // bunx is bun under another name (it looks at argv[0]), as Bun's installer links it.
    symlinkSync(node, join(tools, 'bun'));
    symlinkSync(node, join(tools, 'bunx'));
  }
  cpSync(join(ROOT, 'examples'), join(home, 'examples'), { recursive: true });
  writeFileSync(join(home, 'examples', 'package.json'), '{ "type": "module" }\n');
  // The library examples import 'daemonocle': a project that installed it.
  mkdirSync(join(home, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(join(bin, '..', '..', '..'), join(home, 'node_modules', 'daemonocle'));
  symlinkSync(bin, join(home, 'node_modules', '.bin', 'daemonocle'));
  writeFileSync(join(home, 'package.json'), '{ "type": "module" }\n');
  chownR(home, uid);
  const env = {
    PATH: `${tools}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    XDG_RUNTIME_DIR: join(home, 'run'),
    DAEMONOCLE_TEST_TOKEN: box.token,
    DAEMONOCLE_TEST_RUN: process.env.DAEMONOCLE_TEST_RUN,
  };
  mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  chownSync(env.XDG_RUNTIME_DIR, uid, uid);
  return { box, uid, home, env };
}

function chownR(path: string, uid: number): void {
  chownSync(path, uid, uid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const p = join(path, entry.name);
    if (entry.isDirectory()) chownR(p, uid);
    else chownSync(p, uid, uid);
  }
}

async function sh(s: Scene, command: string): Promise<{ out: string; code: number }> {
  const r = await execa('setpriv', [`--reuid=${s.uid}`, `--regid=${s.uid}`, '--clear-groups', '--', 'env', '-i', ...Object.entries(s.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`), 'sh', '-c', command], {
    cwd: s.home, reject: false, stdin: 'ignore', all: true, timeout: 60_000, extendEnv: false, env: {},
  });
  return { out: String(r.all ?? ''), code: r.exitCode ?? -1 };
}

/** The transcript's commands and, for each, the lines it should print. */
function transcript(text: string): { command: string; expected: string }[] {
  const steps: { command: string; expected: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: '' });
    else if (steps.length > 0) steps.at(-1)!.expected += `${line}\n`;
  }
  return steps;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

for (const b of ALL.filter((x) => x.info === 'console' || x.info === 'sh')) {
  t.test(`${where(b)} runs as written`, async (t) => {
    if (!requireRoot(t) || !canSwitchUsers(t)) return;
    // The Bun block runs in the Bun suite (DAEMONOCLE_RUNTIME=bun), where bun is the runtime.
    if (/\bbunx? /.test(b.text) && !UNDER_BUN) return void t.skip('a Bun example: run by the Bun suite');
    if (b.text.includes('8080')) t.ok(await portFree(8080), 'port 8080 is free for the example server');
    const s = scene(t);
    const previous = ALL[ALL.indexOf(b) - 1];
    if (previous?.info === 'js') {
      const file = /\bnode (\S+\.[cm]?js)\b/.exec(b.text)?.[1];
      t.ok(file, `${where(b)} runs the module of ${where(previous)} with node`);
      writeFileSync(join(s.home, file!), `${previous.text}\n`);
      chownSync(join(s.home, file!), s.uid, s.uid);
    }
    if (b.info === 'sh') {
      const r = await sh(s, `set -e\n${b.text}`);
      t.equal(r.code, 0, `exit 0; it printed:\n${r.out}`);
      return;
    }
    for (const step of transcript(b.text)) {
      const r = await sh(s, step.command);
      t.equal(normalize(r.out), normalize(step.expected), `$ ${step.command}`);
    }
  });
}

t.test('```sh ci blocks name npm scripts and files that exist', async (t) => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
  for (const b of ALL.filter((x) => x.info === 'sh ci')) {
    for (const raw of b.text.split('\n')) {
      // Comments, and leading VAR=value or VAR=$(...) assignments, are not the command.
      const line = raw.replace(/\s+#.*$/, '').trim().replace(/^(\w+=(\$\([^)]*\)|\S+)\s+)+/, '');
      if (line === '') continue;
      for (const command of line.split(/\s*&&\s*/)) {
        const npmRun = /^npm (?:run (\S+)|(test|ci))\b/.exec(command);
        const file = /^(\.?\.?\/?[\w.-]+\/[\w./-]+)/.exec(command)?.[1];
        if (npmRun?.[1]) t.ok(scripts[npmRun[1]], `${where(b)}: npm run ${npmRun[1]} is a script`);
        else if (npmRun?.[2] === 'test') t.ok(scripts.test, `${where(b)}: npm test is a script`);
        else if (npmRun?.[2] === 'ci') t.ok(existsSync(join(ROOT, 'package-lock.json')), `${where(b)}: npm ci has a lock file`);
        else if (file) t.ok(existsSync(join(ROOT, file)), `${where(b)}: ${file} exists`);
        else t.fail(`${where(b)}: '${command}' is neither an npm script nor a file of the checkout`);
      }
    }
  }
  const quickStart = ALL.find((x) => x.file === 'README.md' && x.info === 'sh ci');
  t.ok(quickStart, 'the README opens with the quick start');
  for (const line of quickStart!.text.split('\n')) {
    const command = line.replace(/\s+#.*$/, '').trim();
    if (command) t.ok(ci.includes(command), `.ci/run runs '${command}' exactly`);
  }
});

t.test('```ini blocks are excerpts of the systemd units the suite boots', async (t) => {
  const units = readdirSync(join(ROOT, 'systemd')).filter((f) => /\.(service|socket)$/.test(f));
  const lines = new Set(units.flatMap((f) => readFileSync(join(ROOT, 'systemd', f), 'utf8').split('\n')));
  for (const b of ALL.filter((x) => x.info === 'ini')) {
    for (const line of b.text.split('\n')) t.ok(lines.has(line), `${where(b)}: '${line}' is a line of a unit in systemd/`);
  }
});

t.test('```js blocks are each run by the ```console block after them', async (t) => {
  for (const [i, b] of ALL.entries()) {
    if (b.info !== 'js') continue;
    t.equal(ALL[i + 1]?.info, 'console', `${where(b)} is followed by the transcript that runs it`);
    t.equal(ALL[i + 1]?.file, b.file, 'in the same file');
  }
});
