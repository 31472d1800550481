// terminal.js: one xterm.js terminal bound to the WebSocket of one device's
// run of an execution. Frames arrive as binary messages (8-byte big-endian
// sequence number, then the bytes); the terminal remembers the last
// sequence written and reconnects with from=last+1, so a dropped
// connection neither loses nor repeats output.
import { Terminal } from './vendor/xterm/xterm.mjs';
import { FitAddon } from './vendor/xterm-addon-fit/addon-fit.mjs';
import { WebLinksAddon } from './vendor/xterm-addon-web-links/addon-web-links.mjs';
import { SearchAddon } from './vendor/xterm-addon-search/addon-search.mjs';
import { terminalURL } from './api.js';

const theme = {
  background: '#0f1419', foreground: '#e6e1cf', cursor: '#f29718', selectionBackground: '#253340',
};

// registry lets tests (and curious people in the console) read what each
// terminal shows: window.runlet.terminals.get(device).text().
window.runlet = window.runlet || { terminals: new Map() };

export class TerminalView {
  // onState(state, detail) hears 'connecting', 'live', 'ended', 'retrying', 'error'.
  // probe(), called when a connection fails before it opens, resolves to
  // null to try again or to the reason not to (the WebSocket API hides the
  // HTTP status of a refusal, so the page asks the REST API what is wrong).
  // onFind is called on Ctrl+F (Cmd+F) in the terminal: the page opens its
  // find bar instead of the browser's, which cannot see the canvas.
  constructor(container, execution, device, { onState = () => {}, probe = async () => null, onFind = null, key = device } = {}) {
    this.probe = probe;
    this.execution = execution;
    this.device = device;
    this.onState = onState;
    this.lastSeq = 0;
    this.ended = false;
    this.closed = false;
    this.retries = 0;
    this.container = container;
    this.term = new Terminal({
      convertEol: false, cursorBlink: true, scrollback: 10000, theme,
      allowProposedApi: true, // the search addon's match highlights are decorations
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace', fontSize: 13,
    });
    this.fit = new FitAddon();
    this.search = new SearchAddon();
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon());
    this.term.open(container);
    this.term.attachCustomKeyEventHandler((ev) => {
      if (onFind && ev.type === 'keydown' && (ev.ctrlKey || ev.metaKey) && !ev.altKey && !ev.shiftKey && ev.key.toLowerCase() === 'f') {
        ev.preventDefault();
        onFind();
        return false; // not sent to the device
      }
      return true;
    });
    this.term.onData((data) => this.send({ type: 'input', data }));
    // The window size (docs/configuration.md, "Terminals: whose window
    // size"): the job has the size of the viewer that acted most recently.
    // This page sends its size when it connects and whenever it changes,
    // but watching alone never resizes the job (a phone opening the page
    // must not shrink htop for the person at a laptop): the job takes this
    // size once someone types here, until another viewer types.
    this.term.onResize(({ cols, rows }) => this.send({ type: 'resize', cols, rows }));
    this.resizeObserver = new ResizeObserver(() => this.refit());
    this.resizeObserver.observe(container);
    this.refit();
    window.runlet.terminals.set(key, this);
    this.key = key;
    this.connect();
  }

  refit() {
    if (this.container.offsetParent === null) return; // hidden (another tab): keep the size
    try { this.fit.fit(); } catch { /* not laid out yet */ }
  }

  connect() {
    if (this.closed || this.ended) return;
    this.onState('connecting');
    const ws = new WebSocket(terminalURL(this.execution, this.device, this.lastSeq + 1));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retries = 0;
      this.connects = (this.connects || 0) + 1;
      this.container.dataset.connects = String(this.connects);
      this.onState('live');
      this.send({ type: 'resize', cols: this.term.cols, rows: this.term.rows });
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') return this.event(JSON.parse(ev.data));
      const buf = ev.data;
      if (buf.byteLength < 8) return;
      const seq = Number(new DataView(buf).getBigUint64(0));
      if (seq <= this.lastSeq) return; // already written (a replay overlapping what we have)
      this.lastSeq = seq;
      this.container.dataset.lastSeq = String(seq);
      this.term.write(new Uint8Array(buf, 8));
    };
    let opened = false;
    ws.addEventListener('open', () => { opened = true; });
    ws.onclose = async (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || this.ended) return;
      if (ev.code === 1008 || (ev.code >= 4000 && ev.code < 5000)) { // refused: do not hammer
        this.onState('error', ev.reason || 'The server refused the terminal.');
        return;
      }
      if (!opened) {
        const refused = await this.probe();
        if (refused) {
          this.onState('error', refused);
          return;
        }
      }
      if (this.closed) return;
      // 1013: the server dropped a viewer that fell behind; come back at once.
      const wait = ev.code === 1013 ? 0 : Math.min(5000, 250 * 2 ** this.retries++);
      this.onState('retrying', wait);
      this.timer = setTimeout(() => this.connect(), wait);
    };
  }

  event(msg) {
    if (msg.type === 'end' || msg.type === 'encrypted') {
      // encrypted: the run ended and the rest of its output is in its
      // encrypted log only (the page's log panel reads it).
      this.ended = true;
      this.container.dataset.ended = 'true';
      if (msg.type === 'encrypted') {
        this.container.dataset.encrypted = 'true';
        this.term.write(`\r\n\x1b[2m[ ${msg.message} ]\x1b[0m\r\n`);
      }
      this.onState('ended');
      if (this.ws) this.ws.close(1000, 'done');
    } else if (msg.type === 'error') {
      this.onState('error', msg.message);
    }
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  // reconnect drops the connection and opens a new one from the last frame
  // seen (what a network change does; also used by tests).
  reconnect() {
    if (this.ended) return;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'reconnect');
    clearTimeout(this.timer);
    this.connect();
  }

  // text is what the terminal shows: every line of its buffer, trailing
  // blanks trimmed, trailing empty lines dropped.
  text() {
    const b = this.term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  focus() { this.term.focus(); }

  // selection is the text selected in the terminal (a find selects its match).
  selection() { return this.term.getSelection(); }

  dispose() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'page closed');
    this.resizeObserver.disconnect();
    if (window.runlet.terminals.get(this.key) === this) window.runlet.terminals.delete(this.key);
    this.term.dispose();
  }
}
