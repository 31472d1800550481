// find.js: the find-in-terminal bar of one terminal, on top of xterm.js's
// search addon. Ctrl+F (Cmd+F) in the terminal or its Find button opens
// it; Enter and Shift+Enter go to the next and previous match; Escape
// closes it and gives the keyboard back to the terminal.
import { h } from './ui.js';

// decorations makes the addon highlight every match (and report the count
// through onDidChangeResults); the active one stands out.
const decorations = {
  matchBackground: '#3d4b5c',
  matchOverviewRuler: '#7a8899',
  activeMatchBackground: '#f29718',
  activeMatchBorder: '#ffd27f',
  activeMatchColorOverviewRuler: '#f29718',
};

// findBar returns the bar of view (a TerminalView) with open() and close().
export function findBar(view, label) {
  const count = h('span.find-count', { 'data-find-count': '', 'aria-live': 'polite' });
  const input = h('input.find-input', {
    type: 'search', placeholder: 'Find', autocomplete: 'off', spellcheck: 'false',
    'aria-label': `Find in ${label}'s output`, 'data-find-input': '',
  });
  const go = (previous, incremental = false) => {
    const q = input.value;
    if (!q) {
      view.search.clearDecorations();
      view.term.clearSelection();
      count.textContent = '';
      return;
    }
    const opts = { incremental, decorations };
    const found = previous ? view.search.findPrevious(q, opts) : view.search.findNext(q, opts);
    if (!found) count.textContent = 'No matches';
  };
  const button = (text, title, data, onclick) => h('button.small', { type: 'button', title, 'aria-label': title, [data]: '', onclick }, text);
  const bar = h('div.findbar', { hidden: true, role: 'search', 'data-findbar': label },
    input, count,
    button('↑', 'Previous match (Shift+Enter)', 'data-find-prev', () => { go(true); input.focus(); }),
    button('↓', 'Next match (Enter)', 'data-find-next', () => { go(false); input.focus(); }),
    button('×', 'Close (Escape)', 'data-find-close', () => close()));

  view.search.onDidChangeResults(({ resultIndex, resultCount }) => {
    view.findResults = { resultIndex, resultCount };
    bar.dataset.results = String(resultCount);
    if (!input.value) count.textContent = '';
    else if (!resultCount) count.textContent = 'No matches';
    else count.textContent = resultIndex >= 0 ? `${resultIndex + 1} of ${resultCount}` : `${resultCount} matches`;
  });
  input.addEventListener('input', () => go(false, true));
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); go(ev.shiftKey); }
    else if (ev.key === 'Escape') { ev.preventDefault(); close(); }
  });

  const open = () => {
    bar.hidden = false;
    input.focus();
    input.select();
    if (input.value) go(false, true);
  };
  const close = () => {
    if (bar.hidden) return;
    bar.hidden = true;
    view.search.clearDecorations();
    count.textContent = '';
    view.focus();
  };
  return { element: bar, open, close };
}
