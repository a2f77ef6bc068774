export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendSelection {
  /** TF.js backend name now active: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** Why this backend, including why better ones were passed over. */
  reason: string;
  /** Threads the backend computes with, where it says. */
  threads?: number;
}

/** One backend's try: what it gave, or why it could not. */
export type Attempt = { ok: true; selection: BackendSelection } | { ok: false; cause: string };
