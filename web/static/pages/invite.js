// The invitation page: someone invited by email chooses a name and a
// password and is signed in.
import { acceptInvite } from '../api.js';
import { h, field, setTitle, empty } from '../ui.js';
import { navigate } from '../router.js';

export async function invitePage(main, _, params) {
  setTitle('Accept the invitation');
  main.classList.add('center');
  const token = params.get('token');
  if (!token) {
    main.append(empty('No invitation here', 'Open the whole link you were sent; it ends with ?token=…'));
    return;
  }
  const name = h('input', { name: 'name', autocomplete: 'name', required: true, 'data-field': 'name' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', minlength: 8, required: true, 'data-field': 'password' });
  const error = h('p.form-error', { role: 'alert' });
  const form = h('form.card.narrow', {
    'data-form': 'invite',
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        await acceptInvite(token, name.value.trim(), password.value);
        navigate('/jobs', { replace: true });
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
  h('h1', 'Join the workspace'),
  h('p.muted', 'Choose your name and a password (at least 8 characters) to finish your account.'),
  field('Your name', name), field('Password', password), error,
  h('button.primary', { type: 'submit' }, 'Join'));
  main.append(form);
  name.focus();
}
