// The sign-in page: email and password, then back where the person was going.
import { signIn, session } from '../api.js';
import { h, field, setTitle } from '../ui.js';
import { navigate } from '../router.js';

// safeNext keeps only paths of this app, so a crafted link cannot send the
// person elsewhere after signing in.
export function safeNext(params) {
  const next = params.get('next') || '/jobs';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/jobs';
}

export async function loginPage(main, _, params) {
  setTitle('Sign in');
  if (session) return navigate(safeNext(params), { replace: true }); // already signed in
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, 'data-field': 'email' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, 'data-field': 'password' });
  const error = h('p.form-error', { role: 'alert', 'data-form-error': '' });
  const submit = h('button.primary', { type: 'submit', 'data-submit': 'login' }, 'Sign in');
  const form = h('form.card.narrow', {
    'data-form': 'login',
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      try {
        await signIn(email.value.trim(), password.value);
        navigate(safeNext(params), { replace: true });
      } catch (err) {
        error.textContent = err.message;
        password.select();
        password.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('h1', h('span.logo', 'λ'), ' Runlet'),
  h('p.muted', 'Sign in to manage jobs and watch them run across your devices.'),
  field('Email', email), field('Password', password), error, submit);
  main.classList.add('center');
  main.append(form);
  email.focus();
}
