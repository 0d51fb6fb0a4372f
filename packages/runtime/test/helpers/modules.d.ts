// The `mnist` package ships no types; the fixture reads its per-digit sets through its own cast.
declare module 'mnist' {
  const digits: unknown;
  export default digits;
}
