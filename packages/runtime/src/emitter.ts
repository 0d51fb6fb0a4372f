/** A minimal typed event emitter; a throwing listener never breaks the runtime. */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();

  on<K extends keyof Events>(type: K, listener: (event: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as (e: never) => void);
    return () => set.delete(listener as (e: never) => void);
  }

  emit<K extends keyof Events>(type: K, event: Events[K]): void {
    for (const l of this.listeners.get(type) ?? []) {
      try {
        (l as (e: Events[K]) => void)(event);
      } catch (err) {
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
