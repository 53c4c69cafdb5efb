/** Whether golden tests rewrite their expected files (UPDATE_GOLDEN=1) instead of comparing against them. */
export function updateGolden(env: Record<string, string | undefined> = process.env): boolean {
  if (env.UPDATE_GOLDEN !== '1') return false;
  // Rewriting makes every golden test pass, so on CI it would hide any change in output.
  if (env.CI) throw new Error('UPDATE_GOLDEN=1 rewrites the expected files, so it refuses to run where CI is set');
  return true;
}
