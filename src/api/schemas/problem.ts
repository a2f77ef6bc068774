// RFC 9457 problem details, the body of every error response. Shared by routes (OpenAPI) and tests.
import { type Static, Type } from 'typebox';

export const FieldProblemSchema = Type.Object({
  field: Type.String({ description: 'Where the problem is: `body.name`, `query.page_size`, `header.authorization`, …' }),
  reason: Type.String(),
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the problem type; `code` says the same for machines.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path.' }),
    code: Type.String({ description: 'Stable machine-readable error code.' }),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(FieldProblemSchema)),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json).' },
);

export type Problem = Static<typeof ProblemSchema> & Record<string, unknown>;

export const problemRef = Type.Ref('Problem');

/** A response entry for an error status: documented (and serialised) as application/problem+json. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: problemRef } } };
}

/** The error responses routes share, by status. */
export const problems = {
  400: problemResponse('The request is malformed: `errors` names each invalid field.'),
  401: problemResponse('Missing, malformed, unknown or revoked API key.'),
  404: problemResponse('No such resource for this tenant.'),
  413: problemResponse('The body exceeds the size limit.'),
  415: problemResponse('The body’s media type is not accepted.'),
  409: problemResponse('The resource is in a state that does not allow this (the detail says which).'),
  422: problemResponse('The request is well-formed but its content is invalid: `errors` names each field and why.'),
} as const;
