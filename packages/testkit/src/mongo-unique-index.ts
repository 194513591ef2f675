import { type Collator, compareValues, valueKey } from './mongo-compare.js';
import { notImplemented } from './mongo-errors.js';
import { type Document, getPath } from './mongo-query.js';

export interface IndexSpec {
  readonly v: number;
  readonly key: Document;
  readonly name: string;
  readonly [option: string]: unknown;
}

interface Held {
  readonly key: readonly unknown[];
  readonly holder: string;
}

/**
 * A unique secondary index: which document (by its `_id` key) holds each
 * index key. Keys are equal as the index's collation says (`'a'` and `'A'`
 * are one key at strength 2): a map by `valueKey` for the simple collation,
 * a list kept sorted by the collation otherwise.
 */
export class UniqueIndex {
  readonly fields: readonly string[];
  readonly #byKey = new Map<string, string>();
  readonly #sorted: Held[] = [];

  constructor(
    readonly spec: IndexSpec,
    readonly collator: Collator | undefined,
  ) {
    this.fields = Object.keys(spec.key);
  }

  /** A document's key: its values at the index's fields, a missing one as null. */
  keyOf(doc: Document): unknown[] {
    return this.fields.map((field) => {
      const value = getPath(doc, field);
      if (Array.isArray(value)) throw notImplemented(`unique indexes over array values (field '${field}')`);
      return value ?? null;
    });
  }

  holder(key: readonly unknown[]): string | undefined {
    if (this.collator === undefined) return this.#byKey.get(simpleKey(key));
    const at = this.#search(key);
    const found = this.#sorted[at];
    return found !== undefined && this.#compare(found.key, key) === 0 ? found.holder : undefined;
  }

  set(key: readonly unknown[], holder: string): void {
    if (this.collator === undefined) this.#byKey.set(simpleKey(key), holder);
    else this.#sorted.splice(this.#search(key), 0, { key, holder });
  }

  delete(key: readonly unknown[], holder: string): void {
    if (this.collator === undefined) {
      const k = simpleKey(key);
      if (this.#byKey.get(k) === holder) this.#byKey.delete(k);
      return;
    }
    const at = this.#search(key);
    if (this.#sorted[at]?.holder === holder) this.#sorted.splice(at, 1);
  }

  #compare(a: readonly unknown[], b: readonly unknown[]): number {
    for (let i = 0; i < a.length; i++) {
      const order = compareValues(a[i], b[i], this.collator);
      if (order !== 0) return order;
    }
    return 0;
  }

  /** The first position whose key is not below `key`. */
  #search(key: readonly unknown[]): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(this.#sorted[mid]!.key, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function simpleKey(key: readonly unknown[]): string {
  return key.map(valueKey).join('|');
}
