// The dashboard: a hash router over four views (sign-in, jobs, one job, new job). Each view gets an
// AbortSignal that fires when the user leaves it, which closes its event streams, timers and charts.
import { api, ApiError, errorText, session, setUnauthorizedHandler } from './api.js';
import { h, replace, toast } from './dom.js';
import { jobView } from './job.js';
import { jobsView } from './jobs.js';
import { newView } from './new.js';
import { resetStore } from './store.js';

const main = document.getElementById('main');
let current = null; // AbortController of the view on screen

const routes = [
  { re: /^#\/jobs\/([0-9a-fA-F-]{36})$/, view: (m) => jobView(main, m[1], signal()) },
  { re: /^#\/jobs(?:\?(.*))?$/, view: (m) => jobsView(main, new URLSearchParams(m[1] ?? ''), signal()) },
  { re: /^#\/new$/, view: () => newView(main, signal()) },
];

function signal() {
  return current.signal;
}

function showChrome(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  if (signedIn) {
    const key = session.key ?? '';
    const prefix = key.split('_').slice(0, 2).join('_');
    document.getElementById('who-key').textContent = `key ${prefix}_…`;
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    const active = location.hash.startsWith(`#/${a.dataset.nav}`) && !(a.dataset.nav === 'jobs' && location.hash.startsWith('#/new'));
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  current?.abort();
  current = new AbortController();
  if (!session.key) {
    showChrome(false);
    signInView();
    return;
  }
  if (location.hash === '' || location.hash === '#' || location.hash === '#/' || location.hash === '#/signin') {
    history.replaceState(null, '', '#/jobs');
  }
  showChrome(true);
  const hash = location.hash;
  const found = routes.map((r) => ({ r, m: r.re.exec(hash) })).find((x) => x.m);
  if (!found) {
    replace(main, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, 'No such page. ', h('a', { href: '#/jobs' }, 'Back to the jobs')));
    focusHeading();
    return;
  }
  try {
    await found.r.view(found.m);
  } catch (err) {
    if (err?.name === 'AbortError') return;
    replace(main, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { class: 'alert error', role: 'alert' }, errorText(err)));
  }
  focusHeading();
}

/** Moves focus to the new page's heading (keyboard and screen-reader users land on the content). */
function focusHeading() {
  if (document.activeElement && document.activeElement !== document.body && main.contains(document.activeElement)) return;
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

function signInView() {
  const input = h('input', { id: 'api-key', name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'api-key-help api-key-error', placeholder: 'qat_…' });
  const error = h('p', { id: 'api-key-error', class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'panel narrow', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Use an API key from ', h('code', {}, 'qat keys create --tenant NAME'), '. It stays in this browser tab only (session storage) and is sent as a bearer token.'),
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input, h('p', { id: 'api-key-help', class: 'help' }, 'Looks like qat_<prefix>_<secret>.'), error),
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!/^qat_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/.test(key)) {
      error.textContent = key ? 'This is not an API key: keys look like qat_<prefix>_<secret>.' : 'Enter your API key.';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await api('/v1/jobs?page_size=1', { key });
      session.set(key);
      resetStore();
      toast('Signed in.');
      if (!location.hash.startsWith('#/jobs') && !location.hash.startsWith('#/new')) location.hash = '#/jobs';
      else void route();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? `This key was refused: ${err.message}` : `Could not sign in: ${errorText(err)}`;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(main, form);
  input.focus();
}

setUnauthorizedHandler(() => {
  session.clear();
  resetStore();
  toast('Your API key was refused (revoked or unknown): sign in again.', 'error');
  void route();
});

document.getElementById('signout').addEventListener('click', () => {
  session.clear();
  resetStore();
  toast('Signed out.');
  void route();
});

window.addEventListener('hashchange', () => void route());
void route();
