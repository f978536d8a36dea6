// One-line messages for schema failures: the field path, what was wrong and the bad value.
import type {z} from 'zod';

import {UsageError} from './registry.js';

/** `a.b.0.c` for a zod issue path; `(root)` for the top. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/** A short rendering of a bad value for an error message. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/**
 * `distill.alpha: must be in [0, 1], got 2`. Schemas carry their own messages for ranges and
 * registry names ("must be in [0, 1]"); type and key mistakes are worded here.
 */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const where = fieldPath(issue.path);
  const input = (issue as {input?: unknown}).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => `${fieldPath([...issue.path, k])}: unknown key`).join('; ');
    case 'invalid_type':
      if (input === undefined) return `${where}: required, expected ${issue.expected}`;
      // A schema's own wording (`must be a positive integer`) wins over zod's default one.
      if (!issue.message.startsWith('Invalid')) return `${where}: ${issue.message}, got ${showValue(input)}`;
      return `${where}: expected ${issue.expected}, got ${showValue(input)}`;
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${showValue(input)}`;
    default:
      return `${where}: ${issue.message}, got ${showValue(input)}`;
  }
}

/** Parses `value` with `schema`, or throws a UsageError naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value, {reportInput: true});
  if (r.success) return r.data;
  throw new UsageError(`${what}: ${formatIssue(r.error.issues[0])}`);
}
