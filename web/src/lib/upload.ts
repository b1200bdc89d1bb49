// Image uploads (multipart, field `file`): the CSRF header like every write, and the
// answer as data or the API's problem.
import { csrfToken } from '../api/client';
import type { Problem, Result } from './http';

export const IMAGE_TYPES = 'image/jpeg,image/png,image/webp';

export async function uploadImage<T>(path: string, file: File): Promise<Result<T>> {
  const body = new FormData();
  body.append('file', file, file.name);
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = csrfToken();
  if (token) headers['X-CSRF-Token'] = decodeURIComponent(token);
  try {
    const r = await fetch(path, { method: 'POST', body, headers, credentials: 'same-origin' });
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
    if (r.ok) return { ok: true, status: r.status, data: parsed as T };
    return { ok: false, status: r.status, problem: { ...(parsed as Partial<Problem>), status: r.status, field: (parsed as Problem | null)?.field ?? 'file' } };
  } catch {
    return { ok: false, status: 0, problem: { status: 0, code: 'offline', field: 'file', detail: 'The server cannot be reached. Check the network and try again.' } };
  }
}
