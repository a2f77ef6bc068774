import { type Static, Type } from 'typebox';
import { JOB_STATUSES } from '../../services/jobLifecycle.js';
import { RunConfigSchema } from '../../services/runConfig.js';

const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);
const Status = Type.Enum([...JOB_STATUSES], { description: 'QUEUED → PREPARING → RUNNING → SUCCEEDED | FAILED; CANCELLING → CANCELLED from any non-terminal state.' });

export const SubmitJobBodySchema = Type.Object(
  {
    model_id: Type.String({ format: 'uuid' }),
    dataset_id: Type.String({ format: 'uuid' }),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The options of `qat run` in snake_case (RunConfig); defaults are filled in and echoed back.' })),
  },
  { additionalProperties: false, $id: 'SubmitJobRequest' },
);
export type SubmitJobBody = Static<typeof SubmitJobBodySchema>;

export const TransitionSchema = Type.Object({
  from: Type.Union([Status, Type.Null()]),
  to: Status,
  phase: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  at: Iso,
});

export const JobSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    status: Status,
    phase: Type.Union([Type.String(), Type.Null()], { description: 'The pipeline step while running: VALIDATING, TRAINING_FLOAT, CALIBRATING, TRAINING_QAT, QUANTIZING, EXPORTING, EVALUATING.' }),
    progress: Type.Record(Type.String(), Type.Unknown(), { description: '{epoch, step, percent, …} of the current phase.' }),
    model_id: Type.String({ format: 'uuid' }),
    dataset_id: Type.String({ format: 'uuid' }),
    config: Type.Ref('RunConfig'),
    attempt: Type.Integer({ minimum: 1 }),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
    transitions: Type.Optional(Type.Array(TransitionSchema)),
    report: Type.Union([Type.Record(Type.String(), Type.Unknown(), { description: 'report.json (openapi/report.schema.json) once the job SUCCEEDED.' }), Type.Null()]),
    created_at: Iso,
    updated_at: Iso,
    started_at: NullableIso,
    finished_at: NullableIso,
  },
  { $id: 'Job' },
);

export const JobListSchema = Type.Object(
  { items: Type.Array(Type.Ref('Job')), next_page_token: Type.Union([Type.String(), Type.Null()], { description: 'Pass as page_token for the next page; null on the last.' }) },
  { $id: 'JobList' },
);

export const ListJobsQuerySchema = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.String({ pattern: `^(${JOB_STATUSES.join('|')})(,(${JOB_STATUSES.join('|')}))*$` }), {
        description: `Statuses to match (${JOB_STATUSES.join(', ')}); repeat the parameter or comma-separate.`,
      }),
    ),
    created_after: Type.Optional(Iso),
    created_before: Type.Optional(Iso),
    page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    page_token: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListJobsQueryBody = Static<typeof ListJobsQuerySchema>;

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Replays return the same job; the same key with another body is 422.' })),
});

export { RunConfigSchema };
