import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActionKeys } from './http';

afterEach(() => vi.unstubAllGlobals());

/** fetch answering from `answers` in turn (`'offline'` throws); records each Idempotency-Key. */
function server(answers: (number | 'offline')[]) {
  const keys: (string | null)[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
      keys.push(new Headers(init?.headers).get('Idempotency-Key'));
      const answer = answers.shift();
      if (answer === 'offline' || answer === undefined) throw new TypeError('Failed to fetch');
      const body = answer < 300 ? { id: 't1' } : { status: answer, code: 'refused', detail: 'no' };
      return new Response(JSON.stringify(body), { status: answer });
    }),
  );
  return keys;
}

describe('ActionKeys', () => {
  it('sends the same request again with its key until it succeeds, then starts afresh', async () => {
    const keys = server(['offline', 201, 201]);
    const actions = new ActionKeys();
    const body = { code: 'T1', seats: 4 };
    expect((await actions.call('POST', '/api/admin/tables', body)).ok).toBe(false);
    expect((await actions.call('POST', '/api/admin/tables', { ...body })).ok).toBe(true);
    expect(keys[1]).toBe(keys[0]);
    // The same form sent again after a success is another action.
    await actions.call('POST', '/api/admin/tables', body);
    expect(keys[2]).not.toBe(keys[1]);
    expect(new Set(keys).size).toBe(2);
    expect(keys.every((k) => k && /^[0-9a-f-]{36}$/.test(k))).toBe(true);
  });

  it('gives a corrected request a fresh key, and a refused one sent unchanged the same', async () => {
    const keys = server([422, 422, 201]);
    const actions = new ActionKeys();
    await actions.call('PATCH', '/api/admin/settings', { vat_rate_bp: 99999 });
    await actions.call('PATCH', '/api/admin/settings', { vat_rate_bp: 99999 });
    expect(keys[1]).toBe(keys[0]);
    await actions.call('PATCH', '/api/admin/settings', { vat_rate_bp: 1800 });
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('keeps apart the same body sent to another path', async () => {
    const keys = server(['offline', 'offline']);
    const actions = new ActionKeys();
    await actions.call('PATCH', '/api/admin/modifiers/a', { active: false });
    await actions.call('PATCH', '/api/admin/modifiers/b', { active: false });
    expect(keys[1]).not.toBe(keys[0]);
  });
});
