import { useEffect, useRef, useState } from 'preact/hooks';
import { api, problemText, type KdsHeldItem, type KdsTicket, type Station } from '../api/client';
import { StatusBar } from '../components/StatusBar';
import { byCourse } from '../lib/courses';
import { DEFAULT_THRESHOLDS, type Thresholds, ageClass, thresholdsOf, allDay, boardNumbers, byAge, formatAge, ticketDone } from '../lib/kds';
import { useLinkState, useStream } from '../lib/realtime';
import { navigate, useLocation } from '../lib/router';

const STATUS: Record<string, string> = { sent: 'New', preparing: 'Preparing', ready: 'Ready', served: 'Served', voided: 'Voided', pending: 'Not sent', held: 'Held' };

/** Tickets of the given stations, refetched whenever a KDS event arrives. */
function useTickets(stations: Station[], stationFilter?: Station) {
  const [tickets, setTickets] = useState<KdsTicket[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState(0);
  const [thresholds, setThresholds] = useState<Thresholds>(DEFAULT_THRESHOLDS);
  const load = async () => {
    try {
      const all = await Promise.all(
        stations.map(async (station) => {
          const { data, response } = await api.GET('/api/kds/tickets', { params: { query: { station } } });
          if (!data && response.status !== 403) throw new Error(`HTTP ${response.status}`);
          if (data) setThresholds(thresholdsOf(data.thresholds));
          return data?.tickets ?? [];
        }),
      );
      setTickets(all.flat());
      setError(null);
    } catch (e) {
      setError(`Tickets could not be loaded (${(e as Error).message}).`);
    }
  };
  useEffect(() => {
    void load();
  }, [stations.join()]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useStream(
    {
      topics: 'kds',
      station: stationFilter,
      onEvent: (type) => {
        if (type === 'order.sent') setFresh((n) => n + 1);
        clearTimeout(timer.current);
        timer.current = setTimeout(() => void load(), 150);
      },
    },
    [stations.join()],
  );
  return { tickets, error, reload: load, fresh, thresholds };
}

function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

let audio: AudioContext | null = null;

/** A short two-tone chime (WebAudio: no file to fetch, works offline). */
function chime() {
  try {
    audio ??= new AudioContext();
    const t = audio.currentTime;
    for (const [i, f] of [880, 1320].entries()) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.001, t + i * 0.18);
      g.gain.exponentialRampToValueAtTime(0.4, t + i * 0.18 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.001, t + i * 0.18 + 0.25);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.18);
      o.stop(t + i * 0.18 + 0.3);
    }
  } catch {
    // no audio device
  }
}

/** Items of later courses under a ticket: dimmed, labelled, and not buttons (nothing to bump
 * until the waiter fires the course). */
export function HeldCourses({ held }: { held: KdsHeldItem[] }) {
  return (
    <>
      {byCourse(held).map((h) => (
        <section key={h.course} class="kds-held" aria-label={`Course ${h.course} — held`}>
          <h3>Course {h.course} — held</h3>
          <ul>
            {h.items.map((i) => (
              <li key={i.item_id} class="kds-held-item">
                <span class="q">{i.quantity}×</span>
                <span class="n">
                  {i.name}
                  {i.modifiers.length > 0 && <small>{i.modifiers.join(', ')}</small>}
                  {i.notes && <small>“{i.notes}”</small>}
                  {i.seat ? <small>Seat {i.seat}</small> : null}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}

function ReconnectBanner() {
  const link = useLinkState();
  if (link === 'live') return null;
  return (
    <p class="banner" role="alert">
      {link === 'reconnecting' ? 'Reconnecting… tickets will catch up when the link is back.' : 'Connecting…'}
    </p>
  );
}

export function Kds() {
  const loc = useLocation();
  const param = new URLSearchParams(loc.search).get('station');
  const expo = param === 'expo' || loc.path === '/kds/expo';
  const station: Station = param === 'bar' ? 'bar' : 'kitchen';
  const stations: Station[] = expo ? ['kitchen', 'bar'] : [station];
  const { tickets, error, reload, fresh, thresholds } = useTickets(stations, expo ? undefined : station);
  const now = useNow();
  const [sound, setSound] = useState(false);
  const [lastBump, setLastBump] = useState<{ ids: string[]; label: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (fresh > 0 && sound) chime();
  }, [fresh]);

  const bumpItem = async (t: KdsTicket, itemId: string, name: string) => {
    const { data, error: p } = await api.POST('/api/kds/items/{item_id}/bump', { params: { path: { item_id: itemId } } });
    if (data) setLastBump({ ids: [itemId], label: `${name} (#${t.number})` });
    else setProblem(problemText(p));
    void reload();
  };
  const bumpTicket = async (t: KdsTicket) => {
    const { data, error: p } = await api.POST('/api/kds/orders/{order_id}/bump', {
      params: { path: { order_id: t.order_id }, query: { station: t.station } },
    });
    if (data) setLastBump({ ids: data.items.map((i) => i.item_id), label: `ticket #${t.number}` });
    else setProblem(problemText(p));
    void reload();
  };
  const recall = async () => {
    if (!lastBump) return;
    for (const id of lastBump.ids) {
      const { error: p } = await api.POST('/api/kds/items/{item_id}/recall', { params: { path: { item_id: id } } });
      if (p) setProblem(problemText(p));
    }
    setLastBump(null);
    void reload();
  };

  const ordered = byAge(tickets);
  const waiting = ordered.filter((t) => !ticketDone(t));
  const done = ordered.filter(ticketDone);
  const title = expo ? 'Expo' : station === 'bar' ? 'Bar' : 'Kitchen';

  return (
    <div class="screen kds">
      <StatusBar title={title} showQueue={false}>
        <button type="button" aria-pressed={!expo && station === 'kitchen'} onClick={() => navigate('/kds?station=kitchen')}>
          Kitchen
        </button>
        <button type="button" aria-pressed={!expo && station === 'bar'} onClick={() => navigate('/kds?station=bar')}>
          Bar
        </button>
        <button type="button" aria-pressed={expo} onClick={() => navigate('/kds?station=expo')}>
          Expo
        </button>
        <button type="button" aria-pressed={sound} onClick={() => { setSound(!sound); if (!sound) chime(); }}>
          {sound ? 'Sound on' : 'Sound off'}
        </button>
        <button type="button" disabled={!lastBump} onClick={recall}>
          {lastBump ? `Recall ${lastBump.label}` : 'Recall last bump'}
        </button>
        <button type="button" onClick={() => document.documentElement.requestFullscreen?.().catch(() => undefined)}>
          Full screen
        </button>
      </StatusBar>
      <ReconnectBanner />
      {(error || problem) && (
        <p class="alert" role="alert">
          {error ?? problem}
        </p>
      )}
      <div class="kds-body">
        <main class="tickets" aria-label={`${title} tickets`}>
          {!ordered.length && <p class="empty-big">No tickets. New orders appear here.</p>}
          {[...waiting, ...done].map((t) => {
            const age = (now - Date.parse(t.sent_at)) / 1000;
            const cls = ticketDone(t) ? 'done' : ageClass(age, thresholds);
            return (
              <article key={`${t.order_id}-${t.station}`} class={`kds-ticket ${cls}`} aria-label={`Ticket ${t.number}`}>
                <header>
                  <span class="num">#{t.number}</span>
                  <span class="where">{t.table ?? (t.order_type === 'takeaway' ? 'Takeaway' : '')}</span>
                  {expo && <span class="where">{t.station === 'bar' ? 'Bar' : 'Kitchen'}</span>}
                  <span class="age" aria-label={`Waiting ${formatAge(age)}`}>{formatAge(age)}</span>
                </header>
                {t.preparation_notes && <p class="ticket-notes">{t.preparation_notes}</p>}
                <ul>
                  {t.items.map((i) => (
                    <li key={i.item_id}>
                      <button
                        type="button"
                        class={`kds-item ${i.status}`}
                        disabled={!['sent', 'preparing'].includes(i.status)}
                        onClick={() => bumpItem(t, i.item_id, i.name)}
                      >
                        <span class="q">
                          <span class="visually-hidden">Bump </span>
                          {i.quantity}×
                        </span>
                        <span class="n">
                          {i.name}
                          {i.modifiers.length > 0 && <small>{i.modifiers.join(', ')}</small>}
                          {i.notes && <small>“{i.notes}”</small>}
                          {(i.seat || i.course) && (
                            <small>
                              {i.seat ? `Seat ${i.seat} ` : ''}
                              {i.course ? `Course ${i.course}` : ''}
                            </small>
                          )}
                        </span>
                        <span class="s">
                          {STATUS[i.status]}
                        </span>
                      </button>
                    </li>
                  ))}
                </ul>
                <HeldCourses held={t.held} />
                {!ticketDone(t) && (
                  <button type="button" class="primary bump" onClick={() => bumpTicket(t)}>
                    Bump ticket #{t.number}
                  </button>
                )}
              </article>
            );
          })}
        </main>
        <aside class="allday" aria-labelledby="allday-title">
          <h2 id="allday-title">All day</h2>
          <ul>
            {allDay(tickets).map((a) => (
              <li key={a.name}>
                <span class="q">{a.quantity}</span> {a.name}
              </li>
            ))}
          </ul>
        </aside>
      </div>
    </div>
  );
}

export function Board() {
  const { tickets, error } = useTickets(['kitchen', 'bar']);
  const { preparing, ready } = boardNumbers(tickets);
  return (
    <div class="screen board">
      <ReconnectBanner />
      {error && <p class="alert" role="alert">{error}</p>}
      <main class="board-cols">
        <section aria-labelledby="prep-title">
          <h1 id="prep-title">Preparing</h1>
          <ul aria-label="Preparing" class="numbers">
            {preparing.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </section>
        <section aria-labelledby="ready-title" class="ready">
          <h1 id="ready-title">Ready</h1>
          <ul aria-label="Ready" class="numbers">
            {ready.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </section>
      </main>
    </div>
  );
}
