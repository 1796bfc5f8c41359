/** The emoji the picker offers: shipped in the bundle, nothing fetched. */
export const EMOJI: readonly string[] = [
  '👍', '👎', '❤️', '😂', '😊', '😮', '😢', '🙏', '🎉', '🔥', '✅', '❌',
  '👀', '🤔', '👏', '💯', '🚀', '⚠️', '📌', '👌', '🙂', '😅', '😎', '🤝',
  '💪', '⏰', '📎', '📍', '☕', '🌧️', '☀️', '🛰️', '📡', '🧭', '🗺️', '🔋'
]
