// Log files on the platform's disk stay bounded: a file that would grow past its cap is renamed
// to `<file>.1` (replacing the one before) and a new one begins, so each log holds at most twice
// the cap — as Docker's log drivers do with max-size and max-file, since a self-hosted platform
// has no log service to hand its files to. Lines already queued for the old file still land in
// it: they are written through its open descriptor, whatever its name has become.
import { lstatSync, renameSync, statSync } from "node:fs";

/** The default cap of one log file (`--log-file-max`). */
export const DEFAULT_LOG_FILE_MAX_BYTES = 32 * 1024 * 1024;

/** The name of the file a log was last rotated into. */
export function rotatedPath(path: string): string {
  return `${path}.1`;
}

/**
 * Counts what goes into a log file and says when the next write should start a new one. Only a
 * plain file is rotated: a device, a pipe or a link (`--access-log /dev/stdout`) is written as is.
 */
export class LogFileSize {
  private size: number;
  private readonly rotates: boolean;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {
    this.size = sizeOf(path);
    this.rotates = plainOrMissing(path);
  }

  /**
   * Before appending `bytes`: true when the file was rotated, and the caller must open `path`
   * anew. A file is never rotated empty, so one line longer than the cap still goes somewhere.
   */
  beforeWrite(bytes: number): boolean {
    let rotated = false;
    if (this.rotates && this.size > 0 && this.size + bytes > this.maxBytes) {
      try {
        renameSync(this.path, rotatedPath(this.path));
        rotated = true;
      } catch {
        // gone or not ours to move: write on, and try again a cap's worth later
      }
      this.size = 0;
    }
    this.size += bytes;
    return rotated;
  }
}

function plainOrMissing(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return true; // made by the first write, as a plain file
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
