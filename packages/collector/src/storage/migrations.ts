/** A schema change, applied once per database in the order of the list it belongs to. */
export interface Migration {
  /** Unique and stable forever, e.g. `001_events`. */
  name: string;
  sql: string;
}
