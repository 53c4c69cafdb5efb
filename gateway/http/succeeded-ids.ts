/**
 * The envelopes this gateway saw succeed, the most recent ones. A success is for ever (only a failure can be
 * replayed), so a progress report about one of them changes nothing, whichever replica answers it: this one
 * says "ignored" without asking the database. Under load most progress reports arrive after their envelope's
 * final (the end actor reports synchronously, sidecars in the background): each of them otherwise took a
 * row lock in the progress batch's transaction, behind the reports that still count.
 */
export class SucceededIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 10_000) {}

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}
