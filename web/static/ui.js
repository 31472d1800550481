// ui.js: the few DOM helpers every page uses — an element builder, toasts,
// dialogs, empty states, copy buttons and formatters.

// h builds an element: h('button.primary', {onclick, 'data-x': 1}, 'Text', child).
// Attributes starting with "on" become listeners; null/false children are skipped.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className += (el.className ? ' ' : '') + v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// toast shows a message at the corner of the screen for a few seconds.
// kind is "error" (the default), "ok" or "info".
export function toast(message, kind = 'error') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div.toast.' + kind, { role: kind === 'error' ? 'alert' : 'status', 'data-toast': kind },
    h('span', message),
    h('button.link', { 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
}

// guard runs fn and shows its error as a toast instead of throwing.
export async function guard(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err && err.handled) return undefined; // the API client already sent the person to sign in
    toast(err && err.message ? err.message : String(err));
    return undefined;
  }
}

// empty is the "nothing here yet" block of a page.
export function empty(title, text, ...actions) {
  return h('div.empty', { 'data-empty': '' }, h('h3', title), text ? h('p', text) : null, actions.length ? h('div.row', actions) : null);
}

// modal opens a <dialog> with the given content; it returns the dialog,
// removed from the page when closed. Its first field gets the keyboard, and
// closing it gives the keyboard back to what opened it (when still there).
export function modal(title, body, { onclose, wide } = {}) {
  const opener = document.activeElement;
  const d = h('dialog' + (wide ? '.wide' : ''), { 'aria-label': title },
    h('header.dialog-head', h('h2', title), h('button.link.close', { type: 'button', 'aria-label': 'Close', onclick: () => d.close() }, '×')),
    body);
  d.addEventListener('close', () => {
    d.remove();
    if (onclose) onclose();
    if (opener && opener !== document.body && opener.isConnected && !document.querySelector('dialog[open]')) opener.focus();
  });
  document.body.append(d);
  d.showModal();
  const first = d.querySelector('[autofocus], input:not([type=hidden]):not([type=radio]), input[type=radio]:checked, select, textarea, button.primary');
  if (first) first.focus();
  return d;
}

// confirmDialog asks a yes/no question; it resolves true on the confirm
// button. Cancel has the keyboard, so Enter or Escape does nothing harmful.
export function confirmDialog(title, text, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h('button.danger', { type: 'button', 'data-confirm': '', onclick: () => { answer = true; d.close(); } }, confirmLabel);
    const no = h('button', { type: 'button', 'data-cancel': '', onclick: () => d.close() }, 'Cancel');
    const d = modal(title, h('div', h('p', text), h('div.row.end', no, yes)), { onclose: () => resolve(answer) });
    no.focus();
  });
}

// copyButton copies text to the clipboard, falling back to selecting it.
export function copyButton(text, label = 'Copy') {
  const b = h('button.small', {
    type: 'button', 'data-copy': '',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        toast('Copied.', 'ok');
      } catch {
        const sel = b.previousElementSibling;
        if (sel) window.getSelection().selectAllChildren(sel);
        toast('Select and copy the text (the clipboard is not available here).', 'info');
      }
    },
  }, label);
  return b;
}

// field is a labelled input.
export function field(label, input, hint) {
  return h('label.field', h('span.label', label), input, hint ? h('small.hint', hint) : null);
}

// formatTime shows a time in the viewer's locale; "—" for none.
export function formatTime(iso) {
  if (!iso || iso.startsWith('0001-')) return '—';
  const d = new Date(iso);
  if (d.toDateString() === new Date().toDateString()) return d.toLocaleTimeString();
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

// ago says how long ago a time was ("12 s ago").
export function ago(iso) {
  if (!iso || iso.startsWith('0001-')) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

// duration formats milliseconds as "850 ms", "3.2 s", "4 min 05 s".
export function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  const m = Math.floor(ms / 60000), s = Math.round((ms % 60000) / 1000);
  if (m < 60) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

// runDuration is an execution's duration in ms, or null while unknown.
export function runDuration(e) {
  const set = (t) => t && !t.startsWith('0001-');
  if (!set(e.started)) return null;
  const end = set(e.finished) ? new Date(e.finished) : new Date();
  return end - new Date(e.started);
}

// statusBadge is an execution status as a coloured label.
export function statusBadge(status, extra) {
  return h('span.badge.status-' + String(status || 'unknown').toLowerCase(), { 'data-status': status }, status, extra ? ' ' + extra : null);
}

// setTitle names the browser tab after the page.
export function setTitle(title) {
  document.title = title ? `${title} · Runlet` : 'Runlet';
}
