// Invocations between processes: gateways send them over the bus, workers serve them.
export { createRemoteInvoker, type RemoteInvokerOptions } from "./remote-invoker.js";
export { serveInvocations, type InvocationServer } from "./invocation-server.js";
