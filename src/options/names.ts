// The name a command gets when --name is not given (docs/cli.md, `--name`), and how a running daemon's command
// line compares with a requested one.
//
// A command's name is its basename (`sleep`, `kill-self.js`, `nginx`), except for an interpreter
// (node, bun, deno, python, ruby, perl, php, the shells, java), where it is what the interpreter
// runs, so that `node a.js` and `node b.js` are two daemons `a` and `b` with two pid files:
//   - a script file: its basename without its extension (`node --max-old-space-size=100 a.js` -> a,
//     `python3 -u app.py` -> app, `bash -e run.sh` -> run, `java -jar app.jar` -> app,
//     `php -f index.php` -> index, `bun run server.ts` -> server, `deno run -A main.ts` -> main);
//   - a module: its name as given (`python3 -m http.server` -> http.server, `java -m mod/Main` ->
//     mod, `java com.example.Main` -> com.example.Main, `node --run dev` -> dev);
//   - inline code, stdin or anything else (`sh -c '...'`, `node -e '...'`, `python3 -c`,
//     `perl -e`, `php -S :8000`, `deno task dev`, `bun x pkg`): the interpreter's own name.
// The interpreter's options are skipped, including those that take the next word as their value
// (`node -r dotenv/config a.js`, `bash -o pipefail run.sh`, `java -cp lib app.Main`).
import { basename, extname, resolve } from 'node:path';

type Target = { kind: 'script'; path: string } | { kind: 'module'; name: string } | { kind: 'none' };

interface Syntax {
  /** Single-letter options may be clustered (`-uB`, `-ec`, `-euo pipefail`). */
  clusters: boolean;
  /** Options that take a value: the rest of a cluster, or else the next word. */
  valued: string[];
  /** Clustered options whose value is only ever the rest of the cluster (`perl -MPOSIX`, `ruby -W2`). */
  attached?: string[];
  /** Options after which code comes from the command line or stdin: no script. */
  inline: string[];
  /** Options whose value is the module run. */
  module?: string[];
  /** Options whose value is the script file run. */
  script?: string[];
  /** Subcommands passed over on the way to the script (`bun run`, `deno run`). */
  runWords?: string[];
  /** Subcommands that run no script of the user's (`deno task`, `bun x`). */
  otherWords?: string[];
  /** Shells also take `+o opt` style options. */
  plus?: boolean;
  /** A first word that is no file is a class name (java), not a script. */
  classNames?: boolean;
}

const SHELL: Syntax = {
  clusters: true,
  plus: true,
  valued: ['-o', '+o', '-O', '+O', '--rcfile', '--init-file'],
  inline: ['-c', '-s', '-i'],
};

const NODE: Syntax = {
  clusters: false,
  valued: [
    '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--env-file',
    '--env-file-if-exists', '--input-type', '--inspect-port', '--debug-port', '--title', '--redirect-warnings',
    '--report-dir', '--report-directory', '--report-filename', '--report-signal', '--diagnostic-dir', '--icu-data-dir',
    '--openssl-config', '--experimental-policy', '--policy-integrity', '--watch-path', '--disable-warning',
    '--localstorage-file', '--secure-heap', '--secure-heap-min', '--unhandled-rejections', '--dns-result-order',
    '--heapsnapshot-signal', '--heapsnapshot-near-heap-limit', '--cpu-prof-dir', '--cpu-prof-name',
    '--cpu-prof-interval', '--heap-prof-dir', '--heap-prof-name', '--heap-prof-interval', '--trace-event-categories',
    '--trace-event-file-pattern', '--tls-cipher-list', '--tls-keylog', '--use-largepages', '--max-http-header-size',
    '--snapshot-blob', '--experimental-config-file', '--experimental-sea-config', '--stack-size',
  ],
  inline: ['-e', '--eval', '-p', '--print', '-pe', '-i', '--interactive', '-c', '--check', '-v', '--version', '-h', '--help', '-'],
  module: ['--run'],
};

const BUN: Syntax = {
  clusters: false,
  valued: ['-r', '--preload', '--env-file', '--cwd', '-c', '--config', '--tsconfig-override', '-d', '--define', '-l', '--loader', '--port', '--conditions'],
  inline: ['-e', '--eval', '-p', '--print', '-v', '--version', '-h', '--help', '-'],
  runWords: ['run'],
  otherWords: ['x', 'exec', 'test', 'install', 'i', 'add', 'remove', 'rm', 'update', 'build', 'create', 'init', 'upgrade', 'pm', 'link', 'unlink', 'repl'],
};

const DENO: Syntax = {
  clusters: false,
  valued: ['-c', '--config', '--import-map', '--location', '--seed', '--cert', '-L', '--log-level', '--port', '--host'],
  inline: ['-v', '-V', '--version', '-h', '--help', '-'],
  runWords: ['run', 'serve'],
  otherWords: [
    'eval', 'repl', 'task', 'test', 'bench', 'fmt', 'lint', 'check', 'compile', 'install', 'uninstall', 'upgrade', 'cache',
    'info', 'doc', 'init', 'jupyter', 'publish', 'add', 'remove', 'coverage', 'types', 'completions', 'vendor', 'clean',
    'outdated', 'x',
  ],
};

const PYTHON: Syntax = {
  clusters: true,
  valued: ['-W', '-X', '--check-hash-based-pycs'],
  inline: ['-c', '-', '-V', '--version', '-h', '--help', '-?'],
  module: ['-m'],
};

const RUBY: Syntax = {
  clusters: true,
  valued: ['-I', '-r', '-C', '-E', '--encoding'],
  attached: ['-x', '-W', '-i', '-F', '-T', '-K'],
  inline: ['-e', '-', '-v', '--version', '-h', '--help'],
};

const PERL: Syntax = {
  clusters: true,
  valued: ['-I'],
  attached: ['-M', '-m', '-i', '-x', '-C', '-D', '-d', '-F', '-V'],
  inline: ['-e', '-E', '-', '-v', '-h'],
};

const PHP: Syntax = {
  clusters: true,
  valued: ['-c', '-d', '-z', '-t'],
  inline: ['-r', '-a', '-S', '-B', '-R', '-F', '-E', '-l', '-v', '-h', '-i', '-m', '-'],
  script: ['-f'],
};

const JAVA: Syntax = {
  clusters: false,
  valued: [
    '-cp', '-classpath', '--class-path', '-p', '--module-path', '--upgrade-module-path', '--add-modules', '--limit-modules',
    '--add-reads', '--add-exports', '--add-opens', '--patch-module', '--source', '--enable-native-access',
  ],
  inline: ['-version', '--version', '-help', '--help', '-h', '-?', '-d', '--describe-module', '--list-modules'],
  module: ['-m', '--module'],
  script: ['-jar'],
  classNames: true,
};

const SHELL_NAME = /^(?:sh|bash|dash|zsh|ksh|mksh|ash)$/;

const INTERPRETERS: [RegExp, Syntax][] = [
  [SHELL_NAME, SHELL],
  [/^(?:node|nodejs)\d*$/, NODE],
  [/^bun$/, BUN],
  [/^deno$/, DENO],
  [/^(?:python|pypy)(?:\d+(?:\.\d+)*)?$/, PYTHON],
  [/^ruby(?:\d+(?:\.\d+)*)?$/, RUBY],
  [/^perl(?:\d+(?:\.\d+)*)?$/, PERL],
  [/^php(?:\d+(?:\.\d+)*)?$/, PHP],
  [/^java$/, JAVA],
];

/** What an interpreter runs, from the words after its own name. */
function target(args: string[], syntax: Syntax): Target {
  const has = (list: string[] | undefined, option: string) => list?.includes(option) ?? false;
  const valueOf = (option: string, value: string | undefined): Target | undefined => {
    if (has(syntax.inline, option)) return { kind: 'none' };
    if (has(syntax.module, option)) return value === undefined ? { kind: 'none' } : { kind: 'module', name: value.split('/')[0]! };
    if (has(syntax.script, option)) return value === undefined ? { kind: 'none' } : { kind: 'script', path: value };
    return undefined;
  };
  let sawRunWord = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--') return args[i + 1] === undefined ? { kind: 'none' } : { kind: 'script', path: args[i + 1]! };
    const isOption = word.startsWith('-') || (syntax.plus === true && word.startsWith('+'));
    if (!isOption || word === '-' || word === '+') {
      if (word === '-') return { kind: 'none' };
      if (!sawRunWord && has(syntax.runWords, word)) {
        sawRunWord = true;
        continue;
      }
      if (!sawRunWord && has(syntax.otherWords, word)) return { kind: 'none' };
      if (syntax.classNames && !word.endsWith('.java')) return { kind: 'module', name: word };
      return { kind: 'script', path: word };
    }
    if (word.startsWith('--') || !syntax.clusters) {
      // --opt=value, --opt value, or (unclustered) -opt value.
      const eq = word.indexOf('=');
      const option = eq > 0 && word.startsWith('--') ? word.slice(0, eq) : word;
      const inlineValue = eq > 0 && word.startsWith('--') ? word.slice(eq + 1) : undefined;
      const takes = has(syntax.valued, option) || has(syntax.module, option) || has(syntax.script, option);
      const value = inlineValue ?? (takes ? args[i + 1] : undefined);
      const found = valueOf(option, value);
      if (found) return found;
      if (takes && inlineValue === undefined) i++;
      continue;
    }
    // A cluster of single letters: -uB, -ec, -euo pipefail, -Wignore, -mhttp.server.
    const sign = word[0]!;
    for (let j = 1; j < word.length; j++) {
      const option = sign + word[j]!;
      const rest = word.slice(j + 1);
      if (has(syntax.attached, option)) break;
      const takes = has(syntax.valued, option) || has(syntax.module, option) || has(syntax.script, option);
      const value = takes ? (rest !== '' ? rest : args[i + 1]) : undefined;
      const found = valueOf(option, value);
      if (found) return found;
      if (takes) {
        if (rest === '') i++;
        break;
      }
    }
  }
  return { kind: 'none' };
}

/** What --name may be (values.ts parseName's rule): a derived name that is not falls back. */
const usable = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !/[/\n\0]/.test(name);

/**
 * The default name of a command (docs/cli.md, `--name`), or undefined without one. workDir resolves a script
 * given as a directory (`node .` with --work-dir /srv/app -> app).
 */
export function defaultName(command: string[], workDir = '/'): string | undefined {
  const first = command[0];
  if (first === undefined) return undefined;
  const own = basename(first);
  if (!usable(own)) return own || undefined;
  const syntax = INTERPRETERS.find(([pattern]) => pattern.test(own))?.[1];
  if (syntax === undefined) return own;
  const found = target(command.slice(1), syntax);
  if (found.kind === 'module') return usable(found.name) ? found.name : own;
  if (found.kind === 'script') {
    let file = basename(found.path);
    if (!usable(file)) file = basename(resolve(workDir, found.path));
    const name = basename(file, extname(file));
    return usable(name) ? name : own;
  }
  return own;
}

/**
 * Whether a running process's argv (from /proc/PID/cmdline) is the command asked for (a shell's
 * inline code counts as the same: it may exec anything). The kernel
 * rewrites a script with a `#!` line to `INTERPRETER [ARG] PATH ARGS...`, and a command given with
 * a directory runs by its absolute path: so the requested arguments must end the running argv,
 * and the word before them must name the same program (the same basename).
 */
export function sameCommand(requested: string[], running: string[]): boolean {
  // `sh -c '...; exec server'` runs as whatever it execs: no telling, so no claim that it differs.
  const own = basename(requested[0] ?? '');
  if (SHELL_NAME.test(own) && target(requested.slice(1), SHELL).kind === 'none') return true;
  if (requested.length === 0 || running.length < requested.length) return false;
  const args = requested.slice(1);
  const offset = running.length - args.length;
  if (!args.every((a, i) => running[offset + i] === a)) return false;
  return basename(running[offset - 1]!) === basename(requested[0]!);
}

/** An argv shown to a person: words joined by spaces, a word with spaces or quotes in double quotes. */
export function showCommand(argv: string[]): string {
  return argv.map((w) => (w !== '' && /^[\w@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/["\\]/g, '\\$&')}"`)).join(' ');
}
