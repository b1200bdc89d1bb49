// JSON calls for the back-office screens: the CSRF header, an Idempotency-Key when asked,
// and the answer as data or as the API's problem+json, never a thrown error.
import { sendJson } from '../api/client';
import { uuid } from './ids';

export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  field?: string;
}

export type Result<T> = { ok: true; status: number; data: T } | { ok: false; status: number; problem: Problem };

export async function call<T>(method: string, path: string, body?: unknown, key?: string): Promise<Result<T>> {
  try {
    const r = await sendJson(method, path, body, key);
    if (r.status >= 200 && r.status < 300) return { ok: true, status: r.status, data: r.body as T };
    const p = (r.body ?? {}) as Partial<Problem>;
    return { ok: false, status: r.status, problem: { ...p, status: r.status } };
  } catch {
    return { ok: false, status: 0, problem: { status: 0, code: 'offline', detail: 'The server cannot be reached. Check the network and try again.' } };
  }
}

export const get = <T>(path: string) => call<T>('GET', path);

/**
 * The Idempotency-Keys of one form's writes (spec §4). Sending the same request again after
 * it failed (no answer, or a refusal) reuses its key, so a write that did land is answered
 * from the server's record instead of acting twice; a changed request (the form corrected)
 * or one after a success gets a fresh key, since the server refuses a key reused for
 * another body.
 */
export class ActionKeys {
  private last: { request: string; key: string } | null = null;

  async call<T>(method: string, path: string, body?: unknown): Promise<Result<T>> {
    const request = `${method} ${path} ${JSON.stringify(body ?? null)}`;
    if (this.last?.request !== request) this.last = { request, key: uuid() };
    const r = await call<T>(method, path, body, this.last.key);
    if (r.ok) this.last = null;
    return r;
  }
}

/** The message for a person: the problem's detail, else its title. */
export function message(p: Problem | null | undefined, fallback = 'Something went wrong.'): string {
  if (!p) return fallback;
  if (p.status === 403) return p.detail ? `Not allowed: ${p.detail}` : 'Not allowed.';
  return p.detail || p.title || fallback;
}

/** Refusals whose body names no field although one input caused them. */
const CODE_FIELDS: Record<string, string> = { username_taken: 'username', terminal_code_taken: 'code' };

/**
 * Splits a problem between the form's fields and a general message: the field it names
 * (`field`, or its last segment, `settings.vat_rate` → `vat_rate`) when the form has it.
 */
export function placeProblem(p: Problem, fields: readonly string[]): { field: string | null; text: string } {
  const text = message(p);
  const f = p.field ?? (p.code ? CODE_FIELDS[p.code] : undefined);
  if (!f) return { field: null, text };
  if (fields.includes(f)) return { field: f, text };
  const last = f.split(/[.[\]]/).filter(Boolean).pop() ?? '';
  if (fields.includes(last)) return { field: last, text };
  const first = f.split(/[.[\]]/)[0] ?? '';
  if (fields.includes(first)) return { field: first, text };
  return { field: null, text };
}

/** Bytes as "183.5 kB" (decimal units, like file managers). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString([], { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
