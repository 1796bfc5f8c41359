/**
 * Text to index terms. Latin (and every other script with spaces) goes word by word;
 * Chinese, Japanese and Korean have no spaces, so each run of CJK characters is indexed as
 * overlapping character bigrams: a query of two or more CJK characters then matches any
 * text holding it as a substring (项目进度 is found by 项目 and by 进度), whatever the word
 * segmenter made of it. A run of one character is indexed as itself.
 */

/** Terms longer than this are cut: they are ids, URLs or noise, and keys stay bounded. */
export const MAX_TERM_LENGTH = 64

// Han, Hiragana, Katakana (with the prolonged sound mark) and Hangul.
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}ー]/u
const MARKS = /\p{M}+/gu
const ASCII = /^[\x00-\x7f]*$/

// The word break rules (and ICU's CJK dictionaries) do not depend on the locale given here.
const segmenter = new Intl.Segmenter('und', { granularity: 'word' })

/**
 * NFKC folds full-width and compatibility forms (Ｑ３ → q3, ｶﾀｶﾅ → カタカナ); lower case
 * folds case; marks are dropped outside CJK so that café matches cafe.
 */
function foldWord (word: string): string {
  // Most words are plain ASCII: nothing to decompose or drop (measured: 240 -> 60 us a message).
  const folded = ASCII.test(word) ? word : word.normalize('NFKD').replace(MARKS, '').normalize('NFKC')
  return folded.length > MAX_TERM_LENGTH ? folded.slice(0, MAX_TERM_LENGTH) : folded
}

function cjkTerms (run: string[], out: string[]): void {
  if (run.length === 1) { out.push(run[0]); return }
  for (let i = 0; i + 1 < run.length; i++) out.push(run[i] + run[i + 1])
}

/**
 * Words of a plain-ASCII stretch, as the word segmenter cuts natural text: letters, digits
 * and underscores, joined by an apostrophe or a period, by a colon between letters and a
 * comma between digits ("don't", "e.g", "v1.2.3", "1,000").
 */
const ASCII_WORD = /[a-z0-9_]+(?:(?:['.]|(?<=[a-z]):(?=[a-z])|(?<=[0-9]),(?=[0-9]))[a-z0-9_]+)*/g

/**
 * The terms of `text`, in order, with repeats (their counts are term frequencies).
 * Whitespace-separated stretches of plain ASCII (most text) are cut by a regular expression;
 * the word segmenter, which costs about 180 us per kilobyte, only sees the others. Index and
 * query go through this same function, so they cut the same way.
 */
export function tokenize (text: string): string[] {
  const out: string[] = []
  for (const chunk of text.normalize('NFKC').toLowerCase().split(/\s+/)) {
    if (chunk === '') continue
    if (ASCII.test(chunk)) {
      for (const word of chunk.match(ASCII_WORD) ?? []) out.push(word.length > MAX_TERM_LENGTH ? word.slice(0, MAX_TERM_LENGTH) : word)
    } else {
      segmented(chunk, out)
    }
  }
  return out.filter(t => t !== '')
}

function segmented (text: string, out: string[]): void {
  let run: string[] = []
  const endRun = (): void => { if (run.length > 0) { cjkTerms(run, out); run = [] } }
  for (const { segment, isWordLike } of segmenter.segment(text)) {
    if (isWordLike !== true) { endRun(); continue }
    if (!CJK.test(segment)) {
      endRun()
      out.push(foldWord(segment))
      continue
    }
    // A segment can mix scripts ("q3项目" may come as one): split it at every change.
    let latin = ''
    for (const ch of segment) {
      if (CJK.test(ch)) {
        if (latin !== '') { endRun(); out.push(foldWord(latin)); latin = '' }
        run.push(ch)
      } else {
        if (run.length > 0) endRun()
        latin += ch
      }
    }
    if (latin !== '') { endRun(); out.push(foldWord(latin)) }
  }
  endRun()
}

/** Term frequencies of a text. */
export function termCounts (text: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const term of tokenize(text)) counts.set(term, (counts.get(term) ?? 0) + 1)
  return counts
}
