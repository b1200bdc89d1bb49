// The signed-in staff member, kept in localStorage as well so a terminal that reloads while
// the server is unreachable still opens on its screen (the cookie stays valid server-side).
import { api, type Me } from '../api/client';
import { store } from './store';

const KEY = 'pos.me';
const TERMINAL_KEY = 'pos.terminal';

function load(): Me | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Me) : null;
  } catch {
    return null;
  }
}

export const session = store<Me | null>(load());

export function setSession(me: Me | null) {
  if (me) localStorage.setItem(KEY, JSON.stringify(me));
  else localStorage.removeItem(KEY);
  session.set(me);
}

/** Asks the server who is signed in; keeps the stored session when it cannot be reached. */
export async function refreshSession(): Promise<Me | null> {
  try {
    const { data, response } = await api.GET('/api/auth/me');
    if (data) {
      setSession(data);
      return data;
    }
    if (response.status === 401) setSession(null);
  } catch {
    // offline: keep what we had
  }
  return session.get();
}

export async function logout() {
  try {
    await api.POST('/api/auth/logout');
  } catch {
    // offline: forget locally anyway
  }
  setSession(null);
}

/** The registered terminal this device is (its code, e.g. `pos-1`), for PIN login. */
export function terminalCode(): string {
  return localStorage.getItem(TERMINAL_KEY) ?? '';
}

export function setTerminalCode(code: string) {
  if (code) localStorage.setItem(TERMINAL_KEY, code);
  else localStorage.removeItem(TERMINAL_KEY);
}

export function homeFor(me: Me): string {
  switch (me.staff.role) {
    case 'kitchen':
      return '/kds?station=kitchen';
    case 'bar':
      return '/kds?station=bar';
    case 'admin':
      return '/admin';
    case 'manager':
      return '/manager';
    default:
      return '/pos';
  }
}
