// The V8-isolate runtime for JavaScript and TypeScript functions.
import type { BlobsPort } from "../../ports/blobs.js";
import { LitefaasError } from "../../shared/errors.js";
import type { FunctionVersion, Instance, Runtime, TriggerKind } from "../types.js";
import { IsolateInstance, type InstanceServices, type LoadedCode } from "./isolate-instance.js";
import { IsolateSupply } from "./isolate-supply.js";
import { prepareIsolate } from "./prepared-isolate.js";

export interface IsolateRuntimeOptions {
  blobs: BlobsPort;
  /** Platform services for instances of one function (logs, egress-bound fetch, crypto). */
  services(fn: FunctionVersion): InstanceServices;
  /** Prepared isolates kept ready per memory size (default 4). */
  prewarm?: number;
}

export interface IsolateRuntime extends Runtime {
  readonly supply: IsolateSupply;
}

export function createIsolateRuntime(options: IsolateRuntimeOptions): IsolateRuntime {
  const supply = new IsolateSupply({ target: options.prewarm ?? 4 });
  const code = new Map<string, Promise<LoadedCode>>();

  const load = (fn: FunctionVersion): Promise<LoadedCode> => {
    let loading = code.get(fn.artifact);
    if (loading === undefined) {
      loading = options.blobs.get(fn.artifact).then((bytes) => {
        if (bytes === undefined) {
          code.delete(fn.artifact);
          throw new LitefaasError(
            "INTERNAL",
            `artifact ${fn.artifact} of ${fn.project}/${fn.name}@${fn.version} is missing`,
            {
              fix: "redeploy the function",
            },
          );
        }
        return { source: Buffer.from(bytes).toString("utf8") };
      });
      code.set(fn.artifact, loading);
    }
    return loading;
  };

  return {
    supply,
    async createInstance(fn: FunctionVersion): Promise<Instance> {
      const [source, prepared] = await Promise.all([load(fn), supply.take(fn.config.memoryMiB)]);
      return IsolateInstance.bind(prepared, fn, source, options.services(fn));
    },
    async verify(fn: FunctionVersion): Promise<void> {
      const [source, prepared] = await Promise.all([load(fn), prepareIsolate(fn.config.memoryMiB)]);
      const instance = await IsolateInstance.bind(
        prepared,
        fn,
        { source: source.source },
        options.services(fn),
      );
      instance.dispose();
      requireHandlers(fn, instance.handles);
    },
    close(): Promise<void> {
      supply.close();
      return Promise.resolve();
    },
  };
}

/** A function that declares subjects or a schedule must have the handler that serves them. */
function requireHandlers(fn: FunctionVersion, handles: ReadonlySet<TriggerKind>): void {
  const missing = (field: string, handler: string) =>
    new LitefaasError(
      "INVALID_MANIFEST",
      `${fn.project}/${fn.name} declares ${field} but its code has no ${handler} handler`,
      {
        fix: `add async ${handler}(…, env, ctx) to the default export (or export a Lambda handler), or remove ${field} from litefaas.yaml`,
      },
    );
  if (fn.config.subjects.length > 0 && !handles.has("message"))
    throw missing("subjects", "message");
  if (fn.config.schedule !== undefined && !handles.has("scheduled"))
    throw missing("schedule", "scheduled");
}
