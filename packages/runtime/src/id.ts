// Stats event ids. Prediction, correction and error ids are `newId` from @edgeloop/protocol.
/**
 * The id of one stats event: a UUIDv7 whose time is the window's start and whose other bits are a hash of the
 * runtime's random token, the window's number and the version. The worker and the page (which sends its copy
 * of the open window at pagehide, in case the worker dies first) make the same id for the same window, so the
 * collector counts a window once whoever sends it, and however their messages crossed.
 */
export function statsId(token: string, from: number, seq: number, version: string): string {
  const key = `${token}:${seq}:${version}`;
  // FNV-1a over the key from three offset bases: 74 of its 96 bits fill the id.
  const fnv = (h: number) => {
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    return h;
  };
  const a = fnv(0x811c9dc5);
  const b = fnv(0x050c5d1f);
  const c = fnv(0x6b43a9b5);
  const h = (v: number, n: number) =>
    (v >>> 0)
      .toString(16)
      .padStart(8, '0')
      .slice(8 - n);
  const ms = Math.max(0, Math.floor(from));
  const t =
    Math.floor(ms / 0x10000)
      .toString(16)
      .padStart(8, '0')
      .slice(-8) + (ms & 0xffff).toString(16).padStart(4, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${h(a, 3)}-${(0x8000 | (b & 0x3fff)).toString(16)}-${h(b >>> 16, 4)}${h(c, 8)}`;
}

/** A random token (16 hex digits) for `statsId`. */
export function statsToken(): string {
  const r = crypto.getRandomValues(new Uint32Array(2));
  return r[0]!.toString(16).padStart(8, '0') + r[1]!.toString(16).padStart(8, '0');
}
