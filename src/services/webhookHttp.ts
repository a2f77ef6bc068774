// One webhook HTTP attempt: POST the body to the URL, connecting to the address the URL guard checked
// (a pinned DNS lookup, so the name cannot be re-resolved to an internal address between check and
// connect; Host and TLS SNI/certificate checks still use the URL's host name). Redirects are not
// followed (a 3xx is a failed attempt, as Standard Webhooks recommends). One deadline covers connect,
// request and response.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './webhookUrl.js';

export interface HttpAttempt {
  url: URL;
  address: ResolvedAddress;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface HttpAttemptResult {
  /** The response status, or null when no response arrived (connection error, timeout). */
  statusCode: number | null;
  /** Why the attempt failed: the network error, the timeout, or the start of a non-2xx response body. */
  error: string | null;
  durationMs: number;
}

/** At most this much of a failed response's body is kept with the attempt, to show the receiver's reason. */
const ERROR_BODY_CHARS = 256;

export type HttpSender = (attempt: HttpAttempt) => Promise<HttpAttemptResult>;

function pinnedLookup(address: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: address.address, family: address.family }]);
    else callback(null, address.address, address.family);
  }) as unknown as LookupFunction;
}

export const sendWebhookRequest: HttpSender = ({ url, address, headers, body, timeoutMs }) =>
  new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    const finish = (statusCode: number | null, error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, error, durationMs: Math.round(performance.now() - started) });
    };
    const client = url.protocol === 'https:' ? https : http;
    const payload = Buffer.from(body, 'utf8');
    const req = client.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length) },
      lookup: pinnedLookup(address),
      // A fresh connection per attempt: a pooled socket could belong to an earlier resolution.
      agent: false,
    });
    let statusCode: number | null = null;
    const timer = setTimeout(() => {
      req.destroy();
      finish(statusCode, `timed out after ${timeoutMs} ms${statusCode === null ? ' waiting for a response' : ' reading the response'}`);
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish(statusCode, err.code ? `${err.code}: ${err.message}` : err.message));
    req.on('response', (res) => {
      statusCode = res.statusCode ?? null;
      if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
        // Success is the status; the body is drained but not waited for.
        finish(statusCode, null);
        res.resume();
        setTimeout(() => req.destroy(), timeoutMs).unref();
        return;
      }
      let text = '';
      const done = (): void => {
        const snippet = text.slice(0, ERROR_BODY_CHARS).trim();
        finish(statusCode, `HTTP ${statusCode}${snippet ? `: ${snippet}` : ''}`);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= ERROR_BODY_CHARS) {
          done();
          req.destroy();
        }
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.end(payload);
  });
