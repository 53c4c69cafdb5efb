/** Step 2 (TypeScript): a tiny lexicon-based sentiment score. */
const POSITIVE = new Set(['good', 'great', 'easy', 'love', 'fast', 'happy', 'excellent', 'nice']);
const NEGATIVE = new Set(['bad', 'slow', 'hard', 'hate', 'broken', 'sad', 'awful', 'lost']);

export function process(payload: { text: string; words: number }) {
  const words = payload.text.toLowerCase().match(/[a-z']+/g) ?? [];
  const score = words.reduce((sum, w) => sum + (POSITIVE.has(w) ? 1 : NEGATIVE.has(w) ? -1 : 0), 0);
  const label = score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral';
  return { ...payload, sentiment: { score, label } };
}
