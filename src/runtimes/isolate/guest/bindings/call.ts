// Every binding call goes through one host hook, tagged with the invocation it belongs to, so the
// host can refuse calls that outlive their invocation. The host answers [0, value] or
// [1, errorName, message]; errors are rebuilt here with the right class and name.
import type { HostHooks } from "../host-api.js";

export type BindingCall = (op: string, args: unknown[]) => Promise<unknown>;

export class BindingError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export function bindingCaller(hooks: HostHooks, seq: number, binding: string): BindingCall {
  return async (op, args) => {
    const answer = (await hooks.binding(seq, binding, op, args)) as
      [0, unknown] | [1, string, string];
    if (answer[0] === 0) return answer[1];
    throw new BindingError(answer[1], answer[2]);
  };
}
