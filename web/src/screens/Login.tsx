import { useEffect, useState } from 'preact/hooks';
import { api, problemText, type Me } from '../api/client';
import { setSession, setTerminalCode, terminalCode } from '../lib/session';

/** "14 min 05 s" from seconds. */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return m > 0 ? `${m} min ${String(rest).padStart(2, '0')} s` : `${rest} s`;
}

function useCountdown(until: number | null): number | null {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!until) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [until]);
  if (!until) return null;
  const left = Math.ceil((until - Date.now()) / 1000);
  return left > 0 ? left : null;
}

export function Login({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [mode, setMode] = useState<'password' | 'pin'>(terminalCode() ? 'pin' : 'password');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [pin, setPin] = useState('');
  const [terminal, setTerminal] = useState(terminalCode());
  const [terminalDraft, setTerminalDraft] = useState(terminalCode());
  const [error, setError] = useState<string | null>(null);
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const lockLeft = useCountdown(lockedUntil);

  const finish = async (response: Response, data: unknown, problem: unknown) => {
    if (response.ok && data) {
      const s = data as { staff: Me['staff']; expires_at: string; terminal?: Me['terminal'] };
      const me: Me = {
        staff: s.staff,
        expires_at: s.expires_at,
        terminal: s.terminal ?? null,
        must_change_password: s.staff.must_change_password,
      };
      setSession(me);
      onSignedIn(me);
      return;
    }
    if (response.status === 429) {
      const secs = Number(response.headers.get('Retry-After') ?? '900');
      setLockedUntil(Date.now() + secs * 1000);
      setError(null);
    } else if (response.status === 401) {
      setError(mode === 'pin' ? 'Wrong PIN.' : 'Wrong username or password.');
    } else {
      setError(problemText(problem));
    }
    setPin('');
  };

  const submitPassword = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const { data, error: p, response } = await api.POST('/api/auth/login', { body: { username, password } });
      await finish(response, data, p);
    } catch {
      setError('The server cannot be reached. Check the network and try again.');
    } finally {
      setBusy(false);
    }
  };

  const submitPin = async (value = pin) => {
    if (value.length < 4) return;
    setBusy(true);
    try {
      const { data, error: p, response } = await api.POST('/api/auth/pin-login', { body: { terminal, pin: value } });
      await finish(response, data, p);
    } catch {
      setError('The server cannot be reached. Check the network and try again.');
    } finally {
      setBusy(false);
    }
  };

  const press = (d: string) => {
    setError(null);
    setPin((p) => (p.length < 6 ? p + d : p));
  };

  return (
    <main class="login">
      <h1>Sign in</h1>
      <div class="segmented" role="group" aria-label="Sign-in method">
        <button type="button" aria-pressed={mode === 'pin'} onClick={() => setMode('pin')}>
          PIN
        </button>
        <button type="button" aria-pressed={mode === 'password'} onClick={() => setMode('password')}>
          Password
        </button>
      </div>

      {lockLeft !== null && (
        <p class="alert" role="alert">
          Locked after too many attempts. Try again in {formatWait(lockLeft)}, or ask a manager to unlock.
        </p>
      )}
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}

      {mode === 'password' ? (
        <form class="card form" onSubmit={submitPassword}>
          <label>
            Username
            <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autocomplete="current-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              required
            />
          </label>
          <button class="primary big" type="submit" disabled={busy || lockLeft !== null}>
            Sign in
          </button>
        </form>
      ) : !terminal ? (
        <form
          class="card form"
          onSubmit={(e) => {
            e.preventDefault();
            setTerminalCode(terminalDraft.trim());
            setTerminal(terminalDraft.trim());
          }}
        >
          <p>PIN sign-in works on a registered terminal. Enter the code an admin gave this device.</p>
          <label>
            Terminal code
            <input value={terminalDraft} onInput={(e) => setTerminalDraft(e.currentTarget.value)} placeholder="pos-1" required />
          </label>
          <button class="primary big" type="submit">
            Use this terminal
          </button>
        </form>
      ) : (
        <div class="card pinpad">
          <p class="muted">
            Terminal <strong>{terminal}</strong>{' '}
            <button
              type="button"
              class="link"
              onClick={() => {
                setTerminalCode('');
                setTerminal('');
              }}
            >
              Change terminal
            </button>
          </p>
          <output class="pin-dots" aria-label={`PIN, ${pin.length} digits entered`}>
            {pin.length ? '●'.repeat(pin.length) : <span class="muted">Enter your PIN</span>}
          </output>
          <div class="keys">
            {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => (
              <button type="button" key={d} aria-label={`Digit ${d}`} onClick={() => press(d)} disabled={lockLeft !== null}>
                {d}
              </button>
            ))}
            <button type="button" aria-label="Clear PIN" onClick={() => setPin('')}>
              C
            </button>
            <button type="button" aria-label="Digit 0" onClick={() => press('0')} disabled={lockLeft !== null}>
              0
            </button>
            <button type="button" aria-label="Delete last digit" onClick={() => setPin((p) => p.slice(0, -1))}>
              ⌫
            </button>
          </div>
          <button
            class="primary big"
            type="button"
            disabled={busy || pin.length < 4 || lockLeft !== null}
            onClick={() => submitPin()}
          >
            Sign in with PIN
          </button>
        </div>
      )}
    </main>
  );
}

export function ChangePassword({ onDone }: { onDone: (me: Me) => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== repeat) {
      setError('The two new passwords differ.');
      return;
    }
    try {
      const { data, error: p } = await api.POST('/api/auth/change-password', {
        body: { current_password: current, new_password: next },
      });
      if (data) {
        const me: Me = { staff: data.staff, expires_at: data.expires_at, terminal: data.terminal ?? null, must_change_password: false };
        setSession(me);
        onDone(me);
      } else setError(problemText(p));
    } catch {
      setError('The server cannot be reached. Try again when the network is back.');
    }
  };

  return (
    <main class="login">
      <h1>Choose a new password</h1>
      <p>This account still has its first password. Choose your own (at least 8 characters) to continue.</p>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <form class="card form" onSubmit={submit}>
        <label>
          Current password
          <input type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} required />
        </label>
        <label>
          New password
          <input type="password" autocomplete="new-password" minLength={8} value={next} onInput={(e) => setNext(e.currentTarget.value)} required />
        </label>
        <label>
          Repeat new password
          <input type="password" autocomplete="new-password" minLength={8} value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} required />
        </label>
        <button class="primary big" type="submit">
          Change password
        </button>
      </form>
    </main>
  );
}
