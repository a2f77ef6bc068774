// Entry of an inspection thread (see inspectionThreads.ts): opens the blob store, runs one dataset or
// model inspection and posts the summary, or the error as plain data, back to the thread that asked.
import { parentPort, workerData } from 'node:worker_threads';
import { LocalDiskStore } from '../../storage/localDiskStore.js';
import type { InspectionRequest, InspectionResponse } from './inspectionThreads.js';

function serialise(err: unknown): InspectionResponse {
  const e = err as { fields?: unknown; code?: unknown; message?: unknown; name?: unknown };
  if (Array.isArray(e?.fields) && typeof e.code === 'string') {
    return { ok: false, error: { kind: 'validation', code: e.code, message: String(e.message), fields: e.fields as { field: string; reason: string }[] } };
  }
  return { ok: false, error: { kind: 'internal', name: typeof e?.name === 'string' ? e.name : 'Error', message: err instanceof Error ? err.message : String(err) } };
}

async function run(request: InspectionRequest): Promise<InspectionResponse> {
  const store = new LocalDiskStore(request.dataDir);
  const started = performance.now();
  if (request.task.kind === 'dataset') {
    const { inspectStoredDataset } = await import('./datasetInspector.js');
    const summary = await inspectStoredDataset(store, request.task.files, request.task.options, request.task.limits);
    return { ok: true, result: summary, ms: performance.now() - started };
  }
  const tf = await import('../../core/tf.js');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { inspectStoredModel } = await import('./modelInspector.js');
  const summary = await inspectStoredModel(store, request.task.source, request.task.limits);
  return { ok: true, result: summary, ms: performance.now() - started };
}

const port = parentPort;
if (port) {
  let response: InspectionResponse;
  try {
    response = await run(workerData as InspectionRequest);
  } catch (err) {
    response = serialise(err);
  }
  port.postMessage(response);
}
