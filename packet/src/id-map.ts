// A Map from numeric ids that never empties, for the tables of probes in flight.
//
// V8 shrinks a Map's hash table (a runtime call that allocates a new table) whenever a delete
// leaves fewer entries than half its buckets: a Map going 1 -> 0 -> 1 entries, as the probes in
// flight do at a few probes a second, got a new table for every probe. This one holds an entry of
// its own (key NaN, which no id is), so a table of the initial size never shrinks.

export class IdMap<V> {
  private readonly map = new Map<number, V | undefined>([[NaN, undefined]]);

  get size(): number {
    return this.map.size - 1;
  }

  get(id: number): V | undefined {
    return this.map.get(id); // NaN: the own entry's value, undefined
  }

  has(id: number): boolean {
    return id === id && this.map.has(id);
  }

  set(id: number, value: V): void {
    if (id !== id) throw new RangeError('an id must be a number, not NaN');
    this.map.set(id, value);
  }

  delete(id: number): boolean {
    return id === id && this.map.delete(id);
  }
}
