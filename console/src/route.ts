// Where the console is: the part of the URL after #, e.g. #/functions/shop/hello/logs. A hash
// keeps every screen linkable with no server routes and no reload.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "functions" }
  | { page: "new" }
  | { page: "usage" }
  | { page: "function"; project: string; name: string; tab: string; query: URLSearchParams };

function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "functions" && parts[1] !== undefined && parts[2] !== undefined) {
    return {
      page: "function",
      project: parts[1],
      name: parts[2],
      tab: parts[3] ?? "overview",
      query: new URLSearchParams(search),
    };
  }
  if (parts[0] === "new") return { page: "new" };
  if (parts[0] === "usage") return { page: "usage" };
  return { page: "functions" };
}

export const hrefOf = (project: string, name: string, tab?: string) =>
  `#/functions/${encodeURIComponent(project)}/${encodeURIComponent(name)}${tab === undefined ? "" : `/${tab}`}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function go(hash: string): void {
  location.hash = hash;
}
