import { render } from 'preact';
import { useEffect } from 'preact/hooks';
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
  return <Redirect to={homeFor(me)} />;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

render(<App />, document.getElementById('app')!);
registerServiceWorker();
