import { type Static, Type } from 'typebox';

export const HealthSchema = Type.Object(
  {
    status: Type.Literal('ok'),
    version: Type.String(),
    uptime_s: Type.Number(),
  },
  { $id: 'Health' },
);
export type Health = Static<typeof HealthSchema>;

export const CheckResultSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    latency_ms: Type.Number(),
    error: Type.Optional(Type.String()),
  },
  { $id: 'CheckResult' },
);

const ChecksSchema = Type.Object({
  postgres: Type.Ref('CheckResult'),
  redis: Type.Ref('CheckResult'),
  data_dir: Type.Ref('CheckResult'),
});

export const ReadySchema = Type.Object({ status: Type.Literal('ready'), checks: ChecksSchema }, { $id: 'Ready' });

/** The 503 body: a problem whose `checks` say which dependency is down. */
export const NotReadySchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    request_id: Type.String(),
    checks: ChecksSchema,
  },
  { $id: 'NotReady', description: 'Problem details naming each dependency that is down.' },
);
