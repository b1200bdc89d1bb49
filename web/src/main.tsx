import { render } from 'preact';
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './app.css';
import type { Me } from './api/client';
import { startAutoReplay } from './lib/outbox';
import { navigate, useLocation } from './lib/router';
import { homeFor, refreshSession, session } from './lib/session';
import { useStore } from './lib/store';
import { ChangePassword, Login } from './screens/Login';
import { Pos } from './screens/Pos';
import { Board, Kds } from './screens/Kds';
import { registerServiceWorker } from './pwa';

function App() {
  const me = useStore(session);
  const loc = useLocation();
  useEffect(() => {
    void refreshSession();
    startAutoReplay();
  }, []);

  const signedIn = (m: Me) => {
    const next = loc.path === '/' || loc.path === '/login' ? homeFor(m) : loc.path + loc.search;
    navigate(next, true);
  };

  if (!me) return <Login onSignedIn={signedIn} />;
  if (me.must_change_password) return <ChangePassword onDone={signedIn} />;
  if (loc.path.startsWith('/kds')) return <Kds />;
  if (loc.path === '/board') return <Board />;
  if (loc.path === '/pos') return <Pos />;
  if (loc.path === '/admin') return <Lazy load={loadAdmin} />;
  if (loc.path === '/manager') return <Lazy load={loadManager} />;
  return <Redirect to={homeFor(me)} />;
}

// The back-office screens load on demand, so the till's bundle stays small.
const loadAdmin = () => import('./screens/Admin').then((m) => m.Admin);
const loadManager = () => import('./screens/Manager').then((m) => m.Manager);

function Lazy({ load }: { load: () => Promise<ComponentType> }) {
  const [Screen, setScreen] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    load().then(
      (c) => setScreen(() => c),
      () => setFailed(true),
    );
  }, [load]);
  if (Screen) return <Screen />;
  return (
    <p role="status" class="list-screen">
      {failed ? 'This screen could not be loaded: check the network and reload.' : 'Loading…'}
    </p>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

render(<App />, document.getElementById('app')!);
registerServiceWorker();
