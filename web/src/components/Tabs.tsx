import { navigate } from '../lib/router';

/** A screen's sections as links (`?tab=`), the current one marked for assistive tech. */
export function TabLinks<T extends string>({ base, tabs, current, labels }: { base: string; tabs: readonly T[]; current: T; labels: Record<T, string> }) {
  return (
    <>
      {tabs.map((t) => (
        <a
          key={t}
          class="tab"
          href={`${base}?tab=${t}`}
          aria-current={t === current ? 'page' : undefined}
          onClick={(e) => {
            e.preventDefault();
            navigate(`${base}?tab=${t}`);
          }}
        >
          {labels[t]}
        </a>
      ))}
    </>
  );
}

/** A wide table that scrolls sideways on a narrow tablet instead of squeezing. */
export function Scroll({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- keyboard users must be able to scroll it
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
