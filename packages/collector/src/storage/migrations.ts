/** A schema change, applied once per database in the order of the list it belongs to. */
export interface Migration {
  /** Unique and stable forever, e.g. `001_events`. */
  name: string;
  sql: string;
}

type Group<K extends string> = { readonly [key in K]: readonly Migration[] };

/** A dialect's modules that hold migrations (`import * as events from './events.js'`), by table group. */
export interface TableGroups {
  events: Group<'eventMigrations'>;
  labels: Group<'labelMigrations'>;
  batches: Group<'batchMigrations'>;
  registry: Group<'registryMigrations'>;
  rollout: Group<'rolloutMigrations'>;
  metrics: Group<'metricsMigrations'>;
  leases: Group<'leaseMigrations'>;
}

/** Every table group's migrations, in the one order both dialects apply them in. */
export const inOrder = (g: TableGroups): Migration[] => [
  ...g.events.eventMigrations,
  ...g.labels.labelMigrations,
  ...g.batches.batchMigrations,
  ...g.registry.registryMigrations,
  ...g.rollout.rolloutMigrations,
  ...g.metrics.metricsMigrations,
  ...g.leases.leaseMigrations,
];
