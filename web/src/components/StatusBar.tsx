import type { ComponentChildren } from 'preact';
import { useStore } from '../lib/store';
import { online, queueEntries } from '../lib/outbox';
import { useLinkState } from '../lib/realtime';
import { logout, session } from '../lib/session';
import { navigate, useLocation } from '../lib/router';
import { surfaces } from '../lib/permissions';

/** The top bar: who is signed in, the connection, the queue, sign out. */
export function StatusBar({
  title,
  children,
  showQueue = true,
  showLink = true,
}: {
  title: string;
  children?: ComponentChildren;
  showQueue?: boolean;
  /** The live-connection pill, for screens fed by the event stream. */
  showLink?: boolean;
}) {
  const me = useStore(session);
  const loc = useLocation();
  // The other surfaces this role may open (POS, Manager, Admin), as links.
  const others = surfaces(me?.staff.role).filter((s) => s.path !== loc.path);
  const isOnline = useStore(online);
  const link = useLinkState();
  const entries = useStore(queueEntries);
  const waiting = entries.filter((e) => e.state === 'queued' || e.state === 'sending').length;
  const conflicts = entries.filter((e) => e.state === 'conflict').length;
  const connection = !isOnline ? 'Offline' : link === 'live' ? 'Live' : link === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <header class="bar">
      <h1>{title}</h1>
      <nav class="bar-actions" aria-label="Screen">
        {children}
      </nav>
      <div class="bar-right">
        {others.length > 0 && (
          <nav class="surfaces" aria-label="Go to">
            {others.map((s) => (
              <a
                key={s.path}
                class="tab"
                href={s.path}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(s.path);
                }}
              >
                {s.label}
              </a>
            ))}
          </nav>
        )}
        {(showLink || !isOnline) && (
          <span class={`pill ${!isOnline ? 'bad' : link === 'live' ? 'good' : 'warn'}`} role="status" aria-live="polite">
            {connection}
          </span>
        )}
        {showQueue && (waiting > 0 || conflicts > 0) && (
          <button type="button" class={`pill ${conflicts ? 'bad' : 'warn'}`} onClick={() => navigate('/pos?view=queue')}>
            {waiting > 0 && `${waiting} queued`}
            {waiting > 0 && conflicts > 0 && ', '}
            {conflicts > 0 && `${conflicts} need attention`}
          </button>
        )}
        <span class="who">{me?.staff.full_name}</span>
        <button
          type="button"
          onClick={async () => {
            await logout();
            navigate('/', true);
          }}
        >
          Sign out
        </button>
      </div>
    </header>
  );
}
