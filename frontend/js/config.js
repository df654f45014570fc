// The deployment's settings the pages need (GET /api/v1/client-config), fetched once per page.
// Every caller has a safe default, so a page works the same while this is on its way or lost.

let pending = null;

export function clientConfig() {
  pending ||= fetch("/api/v1/client-config", { cache: "no-store", credentials: "omit" })
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}));
  return pending;
}
