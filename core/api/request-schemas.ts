/**
 * Runtime schemas of every API request, for every transport (HTTP JSON here, IPC in the Electron
 * main process). TypeScript types vanish at a process boundary, so each payload is parsed before
 * the core sees it: unknown fields, wrong types and oversized values are refused. The map is
 * exhaustive over ApiContract (a missing method is a type error).
 */
import { z } from 'zod';
import type { ApiContract, ApiMethod } from '../../shared/api.js';
import { BUDGET_PERIODS } from '../../shared/budgets.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { settingsSchema, type Settings } from '../../shared/settings.js';

const noPayload = z.undefined();
const provider = z.enum(PROVIDER_IDS);
const shortText = z.string().max(200);
/** A time bound in the grammar of shared/time-range.ts; the core parses it and explains a bad one. */
const timeBound = z.string().min(1).max(64);
const granularity = z.enum(['hour', 'day', 'month']);
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const rangeShape = {
  from: timeBound.optional(),
  to: timeBound.optional(),
  providers: z.array(provider).max(PROVIDER_IDS.length).optional(),
};
const rangeQuery = z.strictObject(rangeShape);

const budgetScope = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('provider'), provider }),
  z.strictObject({ kind: z.literal('model'), model: shortText.min(1), provider: provider.optional() }),
  z.strictObject({ kind: z.literal('project'), project: shortText.min(1), provider: provider.optional() }),
]);

const budgetInput = z.strictObject({
  name: shortText.optional(),
  scope: budgetScope,
  period: z.enum(BUDGET_PERIODS),
  amountUsd: z.string().regex(/^\d{1,12}(\.\d{1,9})?$/, 'an amount in dollars such as "50" or "12.5"'),
  thresholds: z.array(z.number().positive().max(1000)).min(1).max(10),
});

/**
 * The schema of a partial value: defaults removed and every object field optional, at every depth.
 * Without it, parsing `{alerts: {muted: true}}` would fill `alerts.webhookUrl` with its default and
 * the merge in the settings store would erase the saved webhook.
 */
function partialWithoutDefaults(schema: z.ZodType): z.ZodType {
  const inner = schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault ? (schema.unwrap() as z.ZodType) : schema;
  if (inner instanceof z.ZodObject) {
    return z.strictObject(Object.fromEntries(Object.entries(inner.shape as Record<string, z.ZodType>).map(([key, field]) => [key, partialWithoutDefaults(field).optional()])));
  }
  return inner;
}

/** A partial settings update: any subset of the fields, nested groups included, each checked against its own schema. */
const settingsPatch = partialWithoutDefaults(settingsSchema) as unknown as z.ZodType<Partial<Settings>>;

/** The schema of every method's request. */
export const REQUEST_SCHEMAS: { readonly [M in ApiMethod]: z.ZodType<ApiContract[M]['request']> } = {
  getOverview: noPayload,
  getSpendSeries: z.strictObject({ ...rangeShape, granularity, groupBy: z.enum(['provider', 'model', 'project']), top: z.number().int().min(1).max(1000).optional() }),
  getTopModels: rangeQuery,
  getCustomers: z.strictObject({ ...rangeShape, limit: z.number().int().min(1).max(10_000).optional() }),
  listProviders: noPayload,
  // Admin keys are long but not unbounded; the core checks the prefix and validates with the provider.
  setProviderKey: z.strictObject({ provider, key: z.string().trim().min(1).max(1024) }),
  testProviderKey: z.strictObject({ provider }),
  deleteProviderKey: z.strictObject({ provider }),
  pollNow: noPayload,
  listBudgets: noPayload,
  createBudget: budgetInput,
  updateBudget: z.strictObject({ id, input: budgetInput }),
  deleteBudget: z.strictObject({ id }),
  listAlerts: z.strictObject({ limit: z.number().int().min(1).max(1000).optional() }),
  getSettings: noPayload,
  updateSettings: settingsPatch,
  exportData: z.strictObject({
    ...rangeShape,
    format: z.enum(['csv', 'jsonl']),
    granularity,
    models: z.array(shortText.min(1)).max(500).optional(),
  }),
};

/**
 * One line saying what was wrong with a payload: the field paths and problems only, never the
 * values (a rejected setProviderKey payload holds a key).
 */
export function describeInvalidRequest(method: ApiMethod, error: z.ZodError): string {
  const problems = error.issues.slice(0, 3).map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'request'}: ${issue.message}`);
  return `The app refused a malformed ${method} request (${problems.join('; ')}).`;
}
