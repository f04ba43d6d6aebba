// "did you mean ...?": the close matches of a mistyped word among the words that would have been
// right, by edit distance (adjacent swaps count as one edit, as in git's and npm's hints).

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates closest to `word` when they are close: at most one edit for words of up to five
 * characters, two for longer ones. Empty when nothing is (then no hint at all beats a wild guess).
 */
export function closest(word: string, candidates: readonly string[]): string[] {
  const limit = word.length <= 5 ? 1 : 2;
  const scored = candidates.map((c) => ({ c, d: editDistance(word, c) })).filter((s) => s.d <= limit);
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.c);
}

/** "did you mean --name?" / "did you mean --stdout or --stderr?" */
export const didYouMean = (matches: readonly string[]): string =>
  `did you mean ${matches.length <= 2 ? matches.join(' or ') : `${matches.slice(0, -1).join(', ')} or ${matches.at(-1)!}`}?`;
