// Host-backed services that classes defined at module scope need (AbortSignal.timeout, the error
// reporting of event listeners and timers). installWebPlatform provides them once per isolate.

export interface PlatformServices {
  setTimeout(callback: () => void, ms: number): number;
  /** Report an exception nobody can catch (a throwing listener or timer callback). */
  reportError(error: unknown): void;
}

let installed: PlatformServices | null = null;

export function installServices(value: PlatformServices): void {
  installed = value;
}

export function services(): PlatformServices {
  if (installed === null) throw new Error("the web platform is not installed");
  return installed;
}
