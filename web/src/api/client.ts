// The typed client: paths and bodies come from src/api/schema.d.ts, generated from
// openapi/openapi.json (`npm run gen:api`; a test fails when it drifts).
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Menu = Schemas['MenuResponse'];
export type MenuProduct = Schemas['MenuProductView'];
export type MenuCategory = Schemas['MenuCategoryView'];
export type FloorTable = Schemas['FloorTableView'];
export type Order = Schemas['OrderView'];
export type OrderItem = Schemas['OrderItemView'];
export type ItemInput = Schemas['ItemInput'];
export type KdsQueue = Schemas['KdsQueueView'];
export type KdsTicket = Schemas['KdsTicketView'];
export type KdsHeldItem = Schemas['KdsHeldItemView'];
export type Receipt = Schemas['ReceiptView'];
export type Station = Schemas['Station'];
export type Me = Schemas['MeResponse'];
export type Problem = Schemas['ProblemDetails'];

/** The `pos_csrf` cookie, echoed in `X-CSRF-Token` on every write (the session cookie is
 * HttpOnly; this one is readable on purpose). */
export function csrfToken(): string | undefined {
  return document.cookie
    .split(';')
    .map((c) => c.trim().split('='))
    .find(([k]) => k === 'pos_csrf')?.[1];
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const token = csrfToken();
      if (token) request.headers.set('X-CSRF-Token', decodeURIComponent(token));
    }
    return request;
  },
};

// fetch looked up at call time (tests stub it; a service worker may wrap it).
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin', fetch: (request) => globalThis.fetch(request) });
api.use(csrf);

/** Raw JSON request for the offline queue (paths built at replay time). Throws only when the
 * server cannot be reached. */
export async function sendJson(method: string, path: string, body: unknown, idempotencyKey?: string) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const token = csrfToken();
  if (token) headers['X-CSRF-Token'] = decodeURIComponent(token);
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text.slice(0, 200) };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export function problemText(p: unknown, fallback = 'Something went wrong'): string {
  const pr = p as Partial<Problem> | null | undefined;
  return pr?.detail || pr?.title || fallback;
}
