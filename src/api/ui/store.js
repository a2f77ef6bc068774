// Names of the tenant's datasets and models, for lists that only carry ids. Loaded once per sign-in,
// refreshed after an upload, and single ids fetched on demand.
import { api, listAll } from './api.js';

const cache = { datasets: new Map(), models: new Map(), loaded: null };

export function resetStore() {
  cache.datasets.clear();
  cache.models.clear();
  cache.loaded = null;
}

export function loadNames(force = false) {
  if (cache.loaded && !force) return cache.loaded;
  cache.loaded = Promise.all([listAll('/v1/datasets', { max: 300 }), listAll('/v1/models', { max: 300 })])
    .then(([datasets, models]) => {
      for (const d of datasets) cache.datasets.set(d.id, d);
      for (const m of models) cache.models.set(m.id, m);
    })
    .catch((err) => {
      cache.loaded = null;
      throw err;
    });
  return cache.loaded;
}

export const datasets = () => [...cache.datasets.values()];
export const models = () => [...cache.models.values()];

export function remember(kind, item) {
  cache[kind].set(item.id, item);
}

/** The cached item, or a fetch of it (null when gone, e.g. deleted). */
export async function lookup(kind, id) {
  if (cache[kind].has(id)) return cache[kind].get(id);
  try {
    const item = await api(`/v1/${kind}/${id}`);
    cache[kind].set(id, item);
    return item;
  } catch {
    cache[kind].set(id, null);
    return null;
  }
}

export const cachedName = (kind, id) => cache[kind].get(id)?.name;
