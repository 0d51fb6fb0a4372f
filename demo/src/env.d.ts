/// <reference types="vite/client" />
interface ImportMetaEnv {
  readonly VITE_EDGELOOP_COLLECTOR?: string;
  readonly VITE_EDGELOOP_KEY?: string;
}
