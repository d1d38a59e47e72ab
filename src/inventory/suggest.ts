// Finds the candidate closest to a mistyped word, so errors can say "did you mean hosts?".
export function nearestWord(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Beyond about half the word the guess stops helping ("childs" -> "children" is 3 edits).
  const limit = Math.max(2, Math.ceil(word.length / 2));
  return bestDistance <= limit ? best : undefined;
}

// Levenshtein distance with one rolling row.
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// Appends "; did you mean X?" when a close candidate exists.
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const guess = nearestWord(word, candidates);
  return guess === undefined ? '' : `; did you mean ${JSON.stringify(guess)}?`;
}
