// No credential ever leaves the dashboard: a URI's userinfo (`s3://key:secret@host/...`,
// `http://user:pass@druid`) is dropped from every path and message it shows. Secrets themselves are
// never read for the dashboard (it has no Secret cache of its own; the control token it sends to the
// slots comes from the controller's cache and is never part of an answer).

/**
 * `scheme://user:pass@host/p` → `scheme://host/p`, anywhere in `text`. Up to the last `@` of the
 * URI, not the first `/`: a hand-written secret key may hold an unescaped `/` (AWS's do). A path
 * with an `@` loses its start too: it fails closed.
 */
export function withoutUserinfo(text: string): string {
  return text.replace(/\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)\S*@/g, '$1');
}
