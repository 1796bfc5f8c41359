/** The emoji offered in the picker; any emoji can still be typed. Rendered by the system's emoji font. */
export const EMOJI = [
  '👍', '👎', '❤️', '😂', '😊', '😮', '😢', '🙏', '🎉', '🔥', '✅', '❌', '👀', '💯', '🚀', '🤔',
  '👌', '👏', '🙌', '💪', '😅', '😎', '🤝', '📌', '⚠️', '❓', '🆗', '⏰', '📎', '📷', '📍', '☕'
]
