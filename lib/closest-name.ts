/**
 * "Did you mean" for a mistyped name (an option, an event name): the known name closest by edit distance,
 * when it is close enough to be the likely intent. Pure; used by layers above.
 */

/** The known name closest to a mistyped one, if it is close enough to be the likely intent. */
export function closestName (name: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, index) => index)
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]
      row[0] = i
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
        diagonal = above
      }
    }
    return row[b.length]
  }
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) { best = candidate; bestDistance = d }
  }
  return best
}
