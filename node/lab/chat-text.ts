/**
 * Text as a team's chat reads, for the lab's load and the benchmarks: words drawn from a
 * small vocabulary with a seeded generator. The search index costs what the vocabulary
 * costs: random letters would make every message a dozen new terms and the nodes look
 * busier than people would make them (fan-out at 10 nodes: p99 613 ms with random letters,
 * 60 ms with these words).
 */
const WORDS = ('the a to and of in is it you that we for on this be are with have not can will do at ' +
  'ok by yet now eta km grid meeting today update team report check sync node link site field ' +
  'north south east west status ready done soon later please thanks yes no need send file map ' +
  'plan route patrol radio power battery water fuel supply camp base relay signal weather road ' +
  'bridge time tomorrow morning night shift crew lead alpha bravo charlie vehicle generator tent ' +
  'medic convoy delay arriving leaving arrived delayed problem fixed 0600 1430 copy roger ' +
  'negative affirmative confirm').split(' ')

/** `head`, then seeded words, cut to `length` characters. */
export function chatText (random: () => number, length: number, head = ''): string {
  let text = head
  while (text.length < length) text += (text === '' ? '' : ' ') + WORDS[Math.floor(random() * WORDS.length)]
  return text.slice(0, length).trimEnd()
}
