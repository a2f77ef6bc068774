// Opaque page tokens for keyset paging: the last item's (created_at, id), base64url-encoded, so clients
// cannot depend on their content and pages stay stable while new rows arrive.
import { ValidationError } from '../errors/index.js';

export interface PagePosition {
  createdAt: Date;
  id: string;
}

export const encodePageToken = (p: PagePosition): string => Buffer.from(`${p.createdAt.toISOString()}|${p.id}`).toString('base64url');

export function decodePageToken(token: string): PagePosition {
  const [at, id] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) {
    throw new ValidationError([{ field: 'page_token', reason: 'is not a token this API returned' }]);
  }
  return { createdAt, id };
}
