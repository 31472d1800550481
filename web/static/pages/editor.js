// editor.js: a small YAML editor — a textarea with a line-number gutter and
// a backdrop that marks the lines the server found problems on, with the
// message written next to the line.
import { h } from '../ui.js';

export function yamlEditor(initial) {
  const gutter = h('div.gutter', { 'aria-hidden': 'true' });
  const backdrop = h('div.backdrop', { 'aria-hidden': 'true' });
  const text = h('textarea.code', {
    spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off',
    'aria-label': 'Job file (YAML)', 'data-field': 'yaml',
  });
  text.value = initial;
  const problems = h('ul.problems', { 'data-problems': '' });
  const element = h('div.editor', gutter, h('div.editor-body', backdrop, text));
  let errors = new Map(); // line → messages

  const draw = () => {
    const lines = text.value.split('\n');
    gutter.replaceChildren(...lines.map((_, i) => h('div', { class: errors.has(i + 1) ? 'err' : null, 'data-gutter-line': i + 1 }, String(i + 1))));
    backdrop.replaceChildren(...lines.map((l, i) => {
      const msgs = errors.get(i + 1);
      return h('div', { class: msgs ? 'err' : null, 'data-line': i + 1, 'data-error-line': msgs ? i + 1 : null },
        h('span.ghost', l || ' '),
        msgs ? h('span.msg', { 'data-error-message': i + 1 }, '  ← ' + msgs.join('; ')) : null);
    }));
    sync();
  };
  const sync = () => {
    gutter.scrollTop = text.scrollTop;
    backdrop.style.transform = `translate(${-text.scrollLeft}px, ${-text.scrollTop}px)`;
  };
  text.addEventListener('scroll', sync);
  text.addEventListener('input', draw);
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Tab' && !ev.shiftKey && !ev.ctrlKey && !ev.altKey) { // two spaces, as YAML wants
      ev.preventDefault();
      document.execCommand('insertText', false, '  ');
    }
  });

  const lineHeight = () => parseFloat(getComputedStyle(text).lineHeight) || 20;
  const focusLine = (n) => {
    const lines = text.value.split('\n');
    let pos = 0;
    for (let i = 0; i < Math.min(n - 1, lines.length); i++) pos += lines[i].length + 1;
    text.focus();
    text.setSelectionRange(pos, pos);
    text.scrollTop = Math.max(0, (n - 3) * lineHeight());
    sync();
  };

  const setErrors = (details) => {
    errors = new Map();
    problems.replaceChildren();
    for (const d of details) {
      const where = d.line ? `line ${d.line}` : d.file || 'file';
      const msg = (d.field ? `${d.field}: ` : '') + d.message;
      if (d.line) errors.set(d.line, [...(errors.get(d.line) || []), msg]);
      problems.append(h('li', { 'data-problem-line': d.line || 0 },
        d.line ? h('button.link', { type: 'button', onclick: () => focusLine(d.line) }, where) : h('strong', where),
        ' ', msg));
    }
    draw();
    const first = details.find((d) => d.line);
    if (first) focusLine(first.line);
  };

  draw();
  return { element, problems, focusLine, setErrors, get value() { return text.value; } };
}
