import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

let counter = 0;

/** A modal dialog: labelled by its title, Escape closes it, focus moves into it. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const id = useRef(`dlg-${++counter}`);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const first = box.current?.querySelector<HTMLElement>('input, select, textarea, button');
    first?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={id.current} ref={box}>
        <h2 id={id.current}>{title}</h2>
        {children}
      </div>
    </div>
  );
}
