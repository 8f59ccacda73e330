// Errors a binding's host half reports to the function: catchable there, by name, with a
// message that says what was wrong and how to fix it. Anything else is a platform fault.

export class BindingUserError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** One binding's host half: `op` with copied arguments, answering a copyable value. */
/** A binding's host half: an operation, its arguments, and the invocation that called it. */
export type BindingHost = (op: string, args: unknown[], requestId?: string) => Promise<unknown>;

export function invalid(message: string): BindingUserError {
  return new BindingUserError("TypeError", message);
}
