// Choose an image: a preview of the chosen file before it is sent, and the server's refusal
// (wrong type, too big, not an image) on the field.
import { useEffect, useRef, useState } from 'preact/hooks';
import { IMAGE_TYPES } from '../lib/upload';

let n = 0;

export function ImagePicker({ label, current, file, onFile, error }: { label: string; current?: string | null; file: File | null; onFile: (f: File | null) => void; error?: string | null }) {
  const id = useRef(`img${++n}`);
  const [preview, setPreview] = useState<string | null>(null);
  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);
  const shown = preview ?? current ?? null;
  return (
    <div class="field image-picker">
      <label for={id.current}>{label}</label>
      <input
        id={id.current}
        type="file"
        accept={IMAGE_TYPES}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={`${id.current}-hint${error ? ` ${id.current}-err` : ''}`}
        onChange={(e) => onFile(e.currentTarget.files?.[0] ?? null)}
      />
      <small id={`${id.current}-hint`} class="muted">
        JPEG, PNG or WebP, at most 5 MB
      </small>
      {shown && <img class="preview" src={shown} alt={preview ? 'Preview of the chosen image' : 'Current image'} />}
      {error && (
        <p id={`${id.current}-err`} class="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
