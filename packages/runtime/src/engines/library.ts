/**
 * An engine's library that cannot be imported: the one failure the install hint is for. Other failures (a model the
 * engine refuses, a shape that does not fit) are reported as they are.
 */
export class MissingLibrary extends Error {
  readonly library: string;

  constructor(library: string, cause: unknown) {
    super(`"${library}" could not be imported (${(cause as Error)?.message ?? String(cause)})`);
    this.name = 'MissingLibrary';
    this.library = library;
  }
}

/** Imports an engine's library, turning an import failure into a `MissingLibrary` naming the package to install. */
export function importLibrary<T>(library: string, load: () => Promise<T>): Promise<T> {
  return load().catch((err: unknown) => {
    throw new MissingLibrary(library, err);
  });
}
