// What the HTTP layer needs from the rest of the service. A composition root builds these; tests
// build them the same way (src/cli/runtime.ts), so tests exercise exactly the production app.
import type { Config } from '../config/index.js';
import type { ApiKeyService } from '../services/apiKeys.js';
import type { ReadinessService } from '../services/readiness.js';

export interface ApiDeps {
  config: Config;
  version: string;
  readiness: ReadinessService;
  apiKeys: ApiKeyService;
}
