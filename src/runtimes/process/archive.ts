// A process function's code travels as one archive: every file of its directory (the task root,
// Lambda's LAMBDA_TASK_ROOT) with its mode, as JSON. Made by the CLI at build, unpacked once per
// version where it runs. JSON keeps it in the deploy request beside the isolates' bundles.
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { LitefaasError } from "../../shared/errors.js";

const FORMAT = "litefaas-archive/1";
/** Not code: left out of the archive. */
const SKIPPED = new Set([".git", "node_modules", ".litefaas", "__pycache__", ".venv", ".DS_Store"]);
const MAX_ARCHIVE_BYTES = 50 * 1024 * 1024;

interface ArchivedFile {
  path: string;
  mode: number;
  data: string;
}

interface Archive {
  format: typeof FORMAT;
  /** The entry file, relative to the task root. */
  entry: string;
  files: ArchivedFile[];
}

/** The archive of `root`, whose entry is `entry` (a path inside it), with `extra` folders
 * added under the names they give (e.g. installed packages as python/). */
export async function packTaskRoot(
  root: string,
  entry: string,
  extra: Array<{ dir: string; as: string }> = [],
): Promise<string> {
  const files: ArchivedFile[] = [];
  let bytes = 0;
  const walk = async (dir: string, base = root, prefix = ""): Promise<void> => {
    for (const item of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (SKIPPED.has(item.name)) continue;
      const path = join(dir, item.name);
      if (item.isDirectory()) await walk(path, base, prefix);
      else if (item.isFile()) {
        const data = await readFile(path);
        bytes += data.length;
        if (bytes > MAX_ARCHIVE_BYTES) {
          throw new LitefaasError(
            "BUILD_FAILED",
            `${root} holds over ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB of files`,
            { fix: "keep only the function's code and its own files in its folder" },
          );
        }
        const { mode } = await lstat(path);
        files.push({
          path: prefix + relative(base, path).split(sep).join("/"),
          mode: mode & 0o777,
          data: data.toString("base64"),
        });
      }
    }
  };
  await walk(root);
  for (const { dir, as } of extra) await walk(dir, dir, `${as}/`);
  const archive: Archive = {
    format: FORMAT,
    entry: relative(root, entry).split(sep).join("/"),
    files,
  };
  return JSON.stringify(archive);
}

/**
 * Unpack into `dir` (made whole or not at all: written beside it, then renamed); returns the
 * entry's path relative to it. A path that would leave `dir` is refused.
 */
export async function unpackTaskRoot(text: string, dir: string): Promise<string> {
  const archive = JSON.parse(text) as Archive;
  if (archive.format !== FORMAT) throw new Error("not a litefaas archive");
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  for (const file of archive.files) {
    const target = join(partial, file.path);
    if (relative(partial, target).startsWith("..") || file.path.startsWith("/"))
      throw new Error(`archive path ${file.path} leaves the task root`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, Buffer.from(file.data, "base64"));
    await chmod(target, file.mode & 0o755);
  }
  await mkdir(partial, { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return archive.entry;
}
