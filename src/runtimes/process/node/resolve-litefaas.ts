// A module resolution hook: `import … from "litefaas"` in a node-process function is the SDK
// shipped with the platform, with nothing to install.
const sdk = new URL("./litefaas.js", import.meta.url).href;

interface Resolved {
  url: string;
  shortCircuit?: boolean;
}

export function resolve(
  specifier: string,
  context: unknown,
  next: (specifier: string, context: unknown) => Promise<Resolved>,
): Promise<Resolved> {
  if (specifier === "litefaas") return Promise.resolve({ url: sdk, shortCircuit: true });
  return next(specifier, context);
}
