// The memory high-water mark of the instance an invocation failed on. A failure has no response
// to carry it, so it travels beside the error (a WeakMap: the error's shape, which answers show,
// stays as it is) from the pool to the invocation's record.
const peaks = new WeakMap<object, number>();

export function setFailedPeakMemory(error: unknown, bytes: number): void {
  if (typeof error === "object" && error !== null) peaks.set(error, bytes);
}

export function failedPeakMemory(error: unknown): number | undefined {
  return typeof error === "object" && error !== null ? peaks.get(error) : undefined;
}
