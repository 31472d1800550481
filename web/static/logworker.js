// logworker.js: a module worker that reads one run's log for the log panel
// (logpanel.js) off the page's main thread: it fetches the log with Range
// requests and decrypts and parses its segments in order (castlog.js),
// posting each to the page as it is ready, so that the page stays
// responsive and draws one segment while the next is decrypted. The
// identities come from the page in the first message and stay in the
// worker's memory; nothing here sends them anywhere.
//
// Messages to the page: {type: 'segment', i, header, events},
// {type: 'damaged', i, message}, {type: 'done', layout},
// {type: 'error', kind, message}.
import { CastLog, LogError, httpSource } from './castlog.js';

self.onmessage = async ({ data: { url, identities } }) => {
  try {
    const log = await CastLog.open(httpSource(url), identities);
    await log.each((i, seg) => {
      self.postMessage({ type: 'segment', i, start: log.segments[i].start, header: seg.header, events: seg.events });
    }, (i, err) => self.postMessage({ type: 'damaged', i, message: err.message }));
    self.postMessage({ type: 'done', layout: { segments: log.segments.length, interrupted: log.layout.interrupted } });
  } catch (err) {
    self.postMessage({ type: 'error', kind: err instanceof LogError ? err.kind : 'error', message: err.message });
  }
};
