import { useStore } from '../lib/store';
import { session } from '../lib/session';

export type Approval = { pin: string } | { username: string; password: string };

export interface ApprovalState {
  pin: string;
  username: string;
  password: string;
}

export const emptyApproval: ApprovalState = { pin: '', username: '', password: '' };

/** A manager's PIN on a registered terminal, their username and password elsewhere (the
 * server accepts a PIN only from a terminal session). */
export function approvalOf(state: ApprovalState, onTerminal: boolean): Approval {
  return onTerminal ? { pin: state.pin } : { username: state.username, password: state.password };
}

export function ApprovalFields({ value, onChange }: { value: ApprovalState; onChange: (v: ApprovalState) => void }) {
  const me = useStore(session);
  if (me?.terminal) {
    return (
      <label>
        Manager's PIN
        <input type="password" inputMode="numeric" autocomplete="off" value={value.pin} onInput={(e) => onChange({ ...value, pin: e.currentTarget.value })} />
      </label>
    );
  }
  return (
    <>
      <label>
        Manager's username
        <input value={value.username} autocomplete="off" onInput={(e) => onChange({ ...value, username: e.currentTarget.value })} />
      </label>
      <label>
        Manager's password
        <input type="password" autocomplete="off" value={value.password} onInput={(e) => onChange({ ...value, password: e.currentTarget.value })} />
      </label>
    </>
  );
}
