// Form fields that show the API's problem+json on the field it names: the input is marked
// invalid and described by the message, so a screen reader reads it with the field.
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { placeProblem, type Problem } from '../lib/http';

let counter = 0;
const nextId = () => `f${++counter}`;

export type Values = Record<string, string | boolean>;

export interface FormState<T extends Values> {
  values: T;
  set: <K extends keyof T>(name: K, value: T[K]) => void;
  reset: (values?: T) => void;
  errors: Partial<Record<keyof T & string, string>>;
  general: string | null;
  /** Places a refusal on its field (or as the general message); `extra` are fields shown outside `values`. */
  refuse: (p: Problem, extra?: string[]) => void;
  fail: (text: string) => void;
  clear: () => void;
  busy: boolean;
  setBusy: (b: boolean) => void;
}

export function useForm<T extends Values>(initial: T): FormState<T> {
  const [values, setValues] = useState<T>(initial);
  const [errors, setErrors] = useState<Partial<Record<keyof T & string, string>>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return {
    values,
    set: (name, value) => {
      setValues((v) => ({ ...v, [name]: value }));
      setErrors((e) => {
        if (!(name in e)) return e;
        const next = { ...e };
        delete next[name as keyof T & string];
        return next;
      });
    },
    reset: (v) => {
      setValues(v ?? initial);
      setErrors({});
      setGeneral(null);
    },
    errors,
    general,
    refuse: (p, extra = []) => {
      const placed = placeProblem(p, [...Object.keys(values), ...extra]);
      if (placed.field) {
        setErrors({ [placed.field]: placed.text } as Partial<Record<keyof T & string, string>>);
        setGeneral(null);
      } else {
        setErrors({});
        setGeneral(placed.text);
      }
    },
    fail: (text) => {
      setErrors({});
      setGeneral(text);
    },
    clear: () => {
      setErrors({});
      setGeneral(null);
    },
    busy,
    setBusy,
  };
}

function useIds() {
  const id = useRef(nextId());
  return { input: id.current, error: `${id.current}-err`, hint: `${id.current}-hint` };
}

interface InputProps {
  type?: 'text' | 'password' | 'number' | 'time' | 'email' | 'search';
  required?: boolean;
  autocomplete?: string;
  inputMode?: 'numeric' | 'decimal' | 'text';
  list?: string;
  placeholder?: string;
  maxLength?: number;
  disabled?: boolean;
}

export function TextField<T extends Values>({
  form,
  name,
  label,
  hint,
  ...rest
}: { form: FormState<T>; name: keyof T & string; label: string; hint?: string } & InputProps) {
  const ids = useIds();
  const error = form.errors[name];
  const described = [hint ? ids.hint : '', error ? ids.error : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={ids.input}>{label}</label>
      <input
        id={ids.input}
        name={name}
        value={String(form.values[name] ?? '')}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
        onInput={(e) => form.set(name, e.currentTarget.value as T[typeof name])}
        {...(rest as Record<string, unknown>)}
      />
      {hint && (
        <small id={ids.hint} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <p id={ids.error} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField<T extends Values>({
  form,
  name,
  label,
  options,
  disabled,
  hint,
}: {
  form: FormState<T>;
  name: keyof T & string;
  label: string;
  options: readonly (readonly [string, string])[];
  disabled?: boolean;
  hint?: string;
}) {
  const ids = useIds();
  const error = form.errors[name];
  const described = [hint ? ids.hint : '', error ? ids.error : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={ids.input}>{label}</label>
      <select
        id={ids.input}
        name={name}
        value={String(form.values[name] ?? '')}
        disabled={disabled}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
        onChange={(e) => form.set(name, e.currentTarget.value as T[typeof name])}
      >
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {hint && (
        <small id={ids.hint} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <p id={ids.error} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function CheckField<T extends Values>({
  form,
  name,
  label,
  disabled,
}: {
  form: FormState<T>;
  name: keyof T & string;
  label: string;
  disabled?: boolean;
}) {
  const ids = useIds();
  const error = form.errors[name];
  return (
    <div class="field">
      <label class="check" for={ids.input}>
        <input
          id={ids.input}
          type="checkbox"
          name={name}
          checked={!!form.values[name]}
          disabled={disabled}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? ids.error : undefined}
          onChange={(e) => form.set(name, e.currentTarget.checked as T[typeof name])}
        />
        {label}
      </label>
      {error && (
        <p id={ids.error} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The form's message that no field owns. */
export function FormError({ form }: { form: { general: string | null } }) {
  return form.general ? (
    <p class="alert" role="alert">
      {form.general}
    </p>
  ) : null;
}

export function Section({ title, children, id }: { title: string; id: string; children: ComponentChildren }) {
  return (
    <section class="card admin-section" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {children}
    </section>
  );
}
