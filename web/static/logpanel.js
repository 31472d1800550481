// logpanel.js: the "Log" panel of the execution page (R-LOG-3, R-GUI-1's
// timestamped logs): one device's recorded, end-to-end encrypted log,
// decrypted in this page. The person unlocks the workspace's log keys with
// the log passphrase; the identities they hold stay in this module's
// memory (never sent, never stored: a reload forgets them). The panel
// shows the first screen as soon as the first segment is decrypted, then
// the rest; it has per-line timestamps, a search over the whole output, a
// download of a standard asciicast v2 file, and playback at 1×, 2×, 8× or
// at once in its own xterm.js terminal.
import { api, list, session, PREFIX } from './api.js';
import { h } from './ui.js';
import { Terminal } from './vendor/xterm/xterm.mjs';
import { FitAddon } from './vendor/xterm-addon-fit/addon-fit.mjs';
import { LogError, unseal, asciicast } from './castlog.js';

// unlocked holds the identities unsealed in this page, for one workspace:
// {workspace, ids: Map(generation → "AGE-SECRET-KEY-1…")}. Module memory
// only: it goes with the page.
let unlocked = null;

const theme = { background: '#0f1419', foreground: '#e6e1cf', cursor: '#0f1419', selectionBackground: '#253340' };
const MAX_LINES_SHOWN = 5000; // the lines view shows the last ones of a longer log
const MAX_MATCHES = 500;
const FIRST_SCREEN = 8192; // characters that fill a terminal's first screen, and then some
const IDLE_CAP = 2; // seconds: playback shortens longer pauses to this (as asciinema's idle limit)

// ansiRE matches terminal escape sequences (CSI, OSC, two-byte ones),
// which the lines view and the search leave out.
// eslint-disable-next-line no-control-regex
const ansiRE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

const workspaceID = () => (session && session.workspace && session.workspace.id) || '';
const identities = () => (unlocked && unlocked.workspace === workspaceID() ? unlocked.ids : null);

// clock formats a Unix time in ms as the local HH:MM:SS.mmm.
function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// newReader starts a log reader worker (logworker.js).
// An error before the panel listens (its modules did not load) is kept
// in failed.
function newReader() {
  const w = new Worker(new URL('./logworker.js', import.meta.url), { type: 'module' });
  w.onerror = (ev) => { w.failed = ev.message || 'a worker error'; };
  return w;
}

// logPanel returns the panel of execution id, whose targets are the
// execution's runs ({device, status}), with dispose() for when the page
// goes.
export function logPanel(id, targets, selected) {
  const names = targets.map((t) => t.device);
  let device = names.includes(selected) ? selected : names[0];
  let gone = false, timer = null, view = null;
  // spare is a log reader (logworker.js) started ahead, while the page
  // asks the API and the person types the passphrase, so that the first
  // screen need not wait for the worker to load its modules.
  let spare = null;
  const warm = () => { if (!spare) spare = newReader(); };
  const take = () => { const w = spare || newReader(); spare = null; return w; };
  warm();

  const body = h('div.log-body', { 'data-log-body': '' });
  const picker = names.length > 1 ? h('select', {
    'data-log-device': '', 'aria-label': 'Device',
    onchange: () => { device = picker.value; load(); },
  }, names.map((n) => h('option', { value: n, selected: n === device }, n))) : null;
  const lockButton = h('button.small', {
    type: 'button', 'data-log-lock': '', hidden: !identities(), title: 'Forget the unlocked log keys in this page',
    onclick: () => { unlocked = null; lockButton.hidden = true; load(); },
  }, 'Lock');
  const el = h('section.card.log-panel', { 'data-log-panel': id },
    h('header.log-head', h('h2', 'Log'), h('small.muted', 'end-to-end encrypted; decrypted in this page'),
      h('div.row.tight', picker, lockButton)),
    body);

  const show = (state, ...children) => {
    el.dataset.logState = state;
    body.replaceChildren(...children);
  };
  const stop = () => { clearTimeout(timer); if (view) { view.dispose(); view = null; } };

  // load finds where the selected device's log stands and shows it.
  const load = async () => {
    stop();
    const want = device;
    show('loading', h('p.muted', 'Looking for the log…'));
    let keys, logs;
    try {
      [keys, logs] = await Promise.all([api('GET', '/logkeys'), api('GET', `/executions/${encodeURIComponent(id)}/logs`)]);
    } catch (err) {
      if (gone || want !== device || err.handled) return;
      show('error', h('p.form-error', { 'data-log-error': '' }, err.message), h('button.small', { type: 'button', onclick: load }, 'Try again'));
      return;
    }
    if (gone || want !== device) return;
    keys = list(keys, 'keys');
    const entry = list(logs, 'logs').find((l) => l.device === device);
    if (!keys.length) {
      show('nokey', h('p', { 'data-log-nokey': '' },
        'This workspace has no log key yet, so runs are not recorded for reading here: an admin runs ', h('code', 'runlet keys init'), '.'));
      return;
    }
    if (!entry || !entry.object) {
      const why = entry && entry.pending ? entry.pending : 'The device has not uploaded this log yet.';
      show('pending', h('p', { 'data-log-pending': '' }, why, ' ', h('span.muted', '(checking again every few seconds)')));
      timer = setTimeout(load, 3000);
      return;
    }
    if (!identities()) {
      show('locked', unlockForm(keys));
      return;
    }
    view = new LogView(body, id, device, entry.object, identities(), take(), (state) => { el.dataset.logState = state; });
    warm(); // for another device
    el.dataset.logState = 'opening';
  };

  // unlockForm asks for the log passphrase and unseals every generation
  // with it, here.
  const unlockForm = (keys) => {
    const input = h('input', { type: 'password', name: 'log-passphrase', autocomplete: 'off', required: true, 'data-field': 'log-passphrase', 'aria-label': 'Log passphrase' });
    const error = h('p.form-error', { 'data-log-error': '', role: 'alert' });
    const submit = h('button.primary', { type: 'submit', 'data-log-unlock-submit': '' }, 'Unlock');
    const form = h('form.log-unlock', {
      'data-log-unlock': '',
      onsubmit: (ev) => {
        ev.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        submit.textContent = 'Unlocking…';
        // Let the button's text show before scrypt holds the page.
        requestAnimationFrame(() => setTimeout(async () => {
          const started = performance.now();
          try {
            const ids = await unseal(keys, input.value);
            unlocked = { workspace: workspaceID(), ids };
            el.dataset.unlockMs = String(Math.round(performance.now() - started));
            input.value = '';
            lockButton.hidden = false;
            load();
          } catch (err) {
            error.textContent = err.message;
            el.dataset.logState = err.kind === 'passphrase' ? 'wrong-passphrase' : 'locked';
            submit.disabled = false;
            submit.textContent = 'Unlock';
            input.select();
          }
        }, 0));
      },
    },
    h('p', 'Enter the workspace\'s log passphrase to read this log. It is used in this page only: neither the passphrase nor the key it opens is sent anywhere.'),
    h('div.row.tight', input, submit), error);
    return form;
  };

  load();
  return {
    element: el,
    reload: () => { if (el.dataset.logState === 'pending') load(); },
    dispose: () => { gone = true; stop(); if (spare) spare.terminate(); },
  };
}

// LogView is one opened log: its terminal, toolbar, lines and search.
// Tests read it through window.runlet.logs.get(device).
class LogView {
  constructor(container, id, device, object, ids, worker, onState) {
    this.device = device;
    this.object = object;
    this.onState = onState;
    this.header = null;
    this.events = [];
    this.lines = []; // {at (Unix ms), text}
    this.partial = null; // the line being built: {at, text}
    this.damaged = []; // {segment, message}
    this.done = false;
    this.closed = false;
    this.playing = null;
    this.base = 0; // the header's timestamp, Unix ms

    this.status = h('p.muted.log-status', { 'data-log-status': '' }, 'Decrypting…');
    this.problems = h('div.log-problems', { 'data-log-problems': '' });
    this.stamps = h('input', { type: 'checkbox', 'data-log-timestamps': '', onchange: () => this.drawLines() });
    this.search = h('input', { type: 'search', placeholder: 'Search the output', 'data-log-search': '', 'aria-label': 'Search the output', oninput: () => this.drawLines() });
    this.count = h('span.muted', { 'data-log-count': '', 'aria-live': 'polite' });
    this.speed = h('select', { 'data-log-speed': '', 'aria-label': 'Playback speed' },
      [['1', '1×'], ['2', '2×'], ['8', '8×'], ['max', 'max']].map(([v, l]) => h('option', { value: v }, l)));
    this.play = h('button.small', { type: 'button', 'data-log-play': '', disabled: true, onclick: () => this.toggle() }, '▶ Play');
    this.download = h('button.small', { type: 'button', 'data-log-download': '', disabled: true, onclick: () => this.save() }, 'Download .cast');
    this.host = h('div.term-host.log-term', { 'data-log-term': device });
    this.linesView = h('pre.log-lines', { 'data-log-lines': '', hidden: true });
    container.replaceChildren(
      h('div.row.tight.log-tools',
        h('label.check', this.stamps, ' Timestamps'), this.search, this.count,
        h('span.spacer'), this.play, this.speed, this.download),
      this.status, this.problems, this.host, this.linesView);

    this.term = new Terminal({
      convertEol: false, cursorBlink: false, disableStdin: true, scrollback: 10000, theme,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace', fontSize: 13,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(this.host);
    try { this.fit.fit(); } catch { /* not laid out yet */ }
    window.runlet = window.runlet || { terminals: new Map() };
    window.runlet.logs = window.runlet.logs || new Map();
    window.runlet.logs.set(device, this);
    this.read(id, ids, worker);
  }

  // read has the worker (logworker.js) open the log and decrypt its
  // segments in order, and draws each as it comes: the terminal shows the
  // first as soon as it is ready, the others follow.
  read(id, ids, worker) {
    const url = `${PREFIX}/executions/${encodeURIComponent(id)}/logs/${encodeURIComponent(this.device)}`;
    const t0 = performance.now();
    this.worker = worker;
    const broken = (why) => this.fail(new Error(`The log reader did not start (${why}): reload the page.`));
    if (worker.failed) {
      broken(worker.failed);
      return;
    }
    this.worker.onerror = (ev) => broken(ev.message || 'a worker error');
    // Messages are handled one at a time, each segment once the terminal
    // has parsed the one before (xterm.js drops what is written beyond
    // 50 MB ahead of its parser): the worker decrypts meanwhile.
    let queue = Promise.resolve();
    this.worker.onmessage = ({ data: m }) => {
      queue = queue.then(() => this.closed ? null : this.handle(m, t0));
    };
    this.worker.postMessage({ url, identities: [...ids.values()] });
  }

  // handle is one message of the worker; it resolves once the terminal
  // has taken what it wrote.
  handle(m, t0) {
    switch (m.type) {
    case 'segment':
      if (m.header) this.setHeader(m.header);
      else if (!this.header && m.events.length) this.base = m.start - m.events[0].time * 1000;
      // The first screen is there once the terminal has taken the
      // first few kilobytes (xterm.js parses writes in order, so this
      // does not wait for the rest of the segment).
      this.add(m.events, this.firstScreen ? null : () => {
        this.firstScreen = Math.round(performance.now() - t0);
        this.host.dataset.firstScreenMs = String(this.firstScreen);
        this.onState('first-screen');
      });
      this.status.textContent = `Decrypting… segment ${m.i + 1}`;
      return new Promise((r) => this.term.write('', r));
    case 'damaged':
      this.damaged.push({ segment: m.i, message: m.message });
      this.term.write(`\r\n\x1b[41;97m[ ${m.message} ]\x1b[0m\r\n`);
      this.problems.append(h('p.form-error', { 'data-log-damaged': String(m.i + 1) }, m.message));
      break;
    case 'done':
      this.stopWorker();
      this.finish(m.layout, t0);
      break;
    case 'error':
      this.stopWorker();
      this.fail(new LogError(m.kind, m.message));
      break;
    }
    return null;
  }

  stopWorker() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
  }

  // finish says what was read once every segment was.
  finish(layout, t0) {
    if (this.partial) this.lines.push(this.partial);
    this.partial = null;
    this.term.write('', () => {
      if (this.closed) return;
      this.done = true;
      this.host.dataset.allMs = String(Math.round(performance.now() - t0));
      const o = this.object, n = layout.segments;
      const parts = [`${this.events.length} frames in ${n} segment${n === 1 ? '' : 's'}, ${(o.size / 1024).toFixed(o.size < 10240 ? 1 : 0)} KiB encrypted`];
      if (o.state === 'interrupted' || layout.interrupted) parts.push('the run was interrupted: this is what its device recorded before');
      if (this.damaged.length) parts.push(`${this.damaged.length} damaged segment${this.damaged.length === 1 ? '' : 's'} left out; the others are shown`);
      this.status.textContent = parts.join('; ') + '.';
      this.play.disabled = false;
      this.download.disabled = false;
      this.drawLines();
      this.onState(this.damaged.length ? 'damaged' : 'ready');
    });
  }

  fail(err) {
    this.stopWorker();
    const kind = err instanceof LogError ? err.kind : 'error';
    this.status.textContent = '';
    this.problems.append(h('p.form-error', { 'data-log-error': kind }, err.message));
    this.onState(kind === 'identity' ? 'wrong-key' : 'error');
  }

  setHeader(header) {
    this.header = header;
    this.base = Number(header.timestamp || 0) * 1000;
    if (header.width && header.height) {
      this.term.resize(Math.max(20, Math.min(header.width, 500)), Math.max(5, Math.min(header.height, 200)));
    }
  }

  // add writes events to the terminal and to the lines; onScreen, when
  // given, is called once the terminal has parsed a screenful or so.
  add(events, onScreen) {
    let written = 0;
    for (const e of events) {
      this.events.push(e);
      this.term.write(e.data);
      written += e.data.length;
      if (onScreen && written >= FIRST_SCREEN) {
        this.term.write('', onScreen);
        onScreen = null;
      }
      const at = this.base + e.time * 1000;
      const pieces = e.data.replace(ansiRE, '').replace(/\r\n/g, '\n').split('\n');
      for (const [k, piece] of pieces.entries()) {
        if (k > 0) {
          this.lines.push(this.partial || { at, text: '' });
          this.partial = null;
        }
        if (!this.partial) this.partial = { at, text: '' };
        this.partial.text += piece;
      }
    }
    if (onScreen) this.term.write('', onScreen);
  }

  // visible is a line as a terminal leaves it: after its last carriage return.
  static visible(text) {
    const i = text.lastIndexOf('\r', text.length - 2);
    return (i >= 0 ? text.slice(i + 1) : text).replace(/\r$/, '');
  }

  // drawLines shows the lines view when timestamps or a search ask for it.
  drawLines() {
    const q = this.search.value.trim().toLowerCase();
    const stamps = this.stamps.checked;
    if (!q && !stamps) {
      this.linesView.hidden = true;
      this.host.hidden = false;
      this.count.textContent = '';
      return;
    }
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    let rows = all;
    if (q) {
      rows = all.filter((l) => LogView.visible(l.text).toLowerCase().includes(q));
      this.count.textContent = rows.length ? `${rows.length} line${rows.length === 1 ? '' : 's'} match` : 'No matches';
      this.count.dataset.matches = String(rows.length);
    } else {
      this.count.textContent = '';
    }
    const limit = q ? MAX_MATCHES : MAX_LINES_SHOWN;
    const cut = rows.length > limit ? rows.length - limit : 0;
    const out = [];
    if (cut) out.push(h('span.muted', `… ${cut} earlier line${cut === 1 ? '' : 's'} not shown\n`));
    for (const l of rows.slice(cut)) {
      const text = LogView.visible(l.text);
      const line = h('span.log-line', { 'data-log-line': '' });
      if (stamps) line.append(h('time.log-time', { datetime: new Date(l.at).toISOString(), 'data-log-time': '' }, clock(l.at)), ' ');
      if (q) {
        const i = text.toLowerCase().indexOf(q);
        line.append(text.slice(0, i), h('mark', { 'data-log-match': '' }, text.slice(i, i + q.length)), text.slice(i + q.length));
      } else {
        line.append(text);
      }
      out.push(line, '\n');
    }
    this.linesView.replaceChildren(...out);
    this.linesView.hidden = false;
    this.host.hidden = true;
  }

  // cast is the log as a standard asciicast v2 file.
  cast() {
    return asciicast(this.header || { version: 2, width: this.term.cols, height: this.term.rows, timestamp: Math.floor(this.base / 1000) }, this.events);
  }

  save() {
    const blob = new Blob([this.cast()], { type: 'application/x-asciicast' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${this.object.execution.slice(0, 8)}-${this.device}.cast`, hidden: true });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // toggle starts, pauses or resumes the playback.
  toggle() {
    if (this.playing && !this.playing.paused) {
      this.playing.paused = true;
      clearTimeout(this.playing.timer);
      this.setPlay('paused', '▶ Resume');
      return;
    }
    if (!this.playing) {
      this.stamps.checked = false;
      this.search.value = '';
      this.drawLines();
      this.term.reset();
      this.playing = { i: 0, paused: false, timer: null };
    }
    this.playing.paused = false;
    this.setPlay('playing', '⏸ Pause');
    this.step();
  }

  setPlay(state, label) {
    this.play.textContent = label;
    this.play.dataset.state = state;
    this.host.dataset.playback = state;
  }

  // step writes the next events: those due at this speed, or, at max, a
  // few hundred kilobytes a frame.
  step() {
    const p = this.playing;
    if (!p || p.paused || this.closed) return;
    const max = this.speed.value === 'max';
    const speed = max ? 0 : Number(this.speed.value);
    let budget = 256 * 1024;
    do {
      const e = this.events[p.i++];
      this.term.write(e.data);
      budget -= e.data.length;
      const next = this.events[p.i];
      if (!next) {
        this.playing = null;
        this.term.write('', () => this.setPlay('ended', '▶ Play again'));
        return;
      }
      if (!max) {
        const wait = Math.min(IDLE_CAP, Math.max(0, next.time - e.time)) / speed;
        if (wait > 0.004) {
          p.timer = setTimeout(() => this.step(), wait * 1000);
          return;
        }
      }
    } while (budget > 0);
    // Go on once the terminal has parsed this much (flow control: xterm.js
    // drops what is written too far ahead of its parser).
    this.term.write('', () => { p.timer = setTimeout(() => this.step(), 0); });
  }

  // text is what the terminal shows (tests): every line of its buffer.
  text() {
    const b = this.term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  dispose() {
    this.closed = true;
    this.stopWorker();
    if (this.playing) clearTimeout(this.playing.timer);
    if (window.runlet.logs.get(this.device) === this) window.runlet.logs.delete(this.device);
    this.term.dispose();
  }
}
