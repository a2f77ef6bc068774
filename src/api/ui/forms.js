// Form plumbing shared by the upload and submit forms: labelled fields with help and error text tied
// to the control (aria-describedby), checks in the page before sending, and the server's problem+json
// `errors` ({field, reason}) shown next to the field they name.
import { h } from './dom.js';

let seq = 0;

/**
 * A labelled control. spec: {name, label, type: 'int'|'num'|'text'|'select'|'bool'|'file', min, max,
 * exclusiveMin, options: [[value, label]], dflt, placeholder, help, required, multiple, accept}.
 */
export function field(formId, spec) {
  const id = `${formId}-${spec.name.replace(/[^a-z0-9_-]/gi, '-')}`;
  const help = spec.help ? h('p', { class: 'help', id: `${id}-help` }, spec.help) : null;
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' });
  const describedBy = [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(' ');
  let control;
  if (spec.type === 'select' || spec.type === 'tri') {
    control = h(
      'select',
      { id, name: spec.name, 'aria-describedby': describedBy, required: !!spec.required },
      spec.options.map(([v, label]) => h('option', { value: v, selected: spec.dflt !== undefined && String(spec.dflt) === String(v) }, label)),
    );
  } else if (spec.type === 'bool') {
    control = h('input', { id, name: spec.name, type: 'checkbox', checked: !!spec.dflt, 'aria-describedby': describedBy });
    return h('div', { class: 'field check', 'data-field': spec.name }, control, h('label', { for: id }, spec.label), help, error);
  } else if (spec.type === 'file') {
    control = h('input', { id, name: spec.name, type: 'file', multiple: !!spec.multiple, accept: spec.accept, required: !!spec.required, 'aria-describedby': describedBy });
  } else {
    const numeric = spec.type === 'int' || spec.type === 'num';
    control = h('input', {
      id,
      name: spec.name,
      type: numeric ? 'number' : 'text',
      inputmode: spec.type === 'int' ? 'numeric' : spec.type === 'num' ? 'decimal' : null,
      step: spec.type === 'int' ? '1' : spec.type === 'num' ? 'any' : null,
      min: spec.min,
      max: spec.max,
      placeholder: spec.placeholder ?? (spec.dflt !== undefined ? `default ${spec.dflt}` : null),
      required: !!spec.required,
      autocomplete: 'off',
      'aria-describedby': describedBy,
    });
  }
  control.dataset.kind = spec.type;
  if (spec.exclusiveMin) control.dataset.exclusiveMin = String(spec.min);
  return h('div', { class: 'field', 'data-field': spec.name }, h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null), control, help, error);
}

export function uniqueFormId(prefix) {
  seq += 1;
  return `${prefix}${seq > 1 ? seq : ''}`;
}

function errorEl(form, name) {
  const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  return wrap ? { wrap, control: wrap.querySelector('input, select, textarea'), msg: wrap.querySelector('.field-error') } : null;
}

export function setFieldError(form, name, message) {
  const f = errorEl(form, name);
  if (!f) return false;
  f.msg.textContent = message;
  f.control?.setAttribute('aria-invalid', 'true');
  f.wrap.classList.add('invalid');
  return true;
}

export function clearErrors(form) {
  for (const m of form.querySelectorAll('.field-error')) m.textContent = '';
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  for (const w of form.querySelectorAll('.invalid')) w.classList.remove('invalid');
  const alert = form.querySelector('.form-error');
  if (alert) {
    alert.textContent = '';
    alert.hidden = true;
  }
}

export function formError(form, message) {
  const alert = form.querySelector('.form-error');
  alert.textContent = message;
  alert.hidden = false;
}

/** The page's own checks (required, ranges, whole numbers); returns true when the form may be sent. */
export function validate(form) {
  let ok = true;
  for (const c of form.querySelectorAll('input, select')) {
    if (c.type === 'checkbox' || c.disabled || c.closest('[hidden]')) continue;
    const v = c.validity;
    let msg = '';
    if (v.valueMissing) msg = c.type === 'file' ? 'Choose a file.' : 'Required.';
    else if (v.badInput) msg = 'Enter a number.';
    else if (v.rangeUnderflow) msg = `Must be at least ${c.min}.`;
    else if (v.rangeOverflow) msg = `Must be at most ${c.max}.`;
    else if (v.stepMismatch) msg = 'Must be a whole number.';
    else if (c.dataset.exclusiveMin !== undefined && c.value !== '' && Number(c.value) <= Number(c.dataset.exclusiveMin)) msg = `Must be more than ${c.dataset.exclusiveMin}.`;
    if (msg) {
      if (ok) c.focus();
      ok = false;
      setFieldError(form, c.name, msg);
    }
  }
  return ok;
}

/**
 * Shows a problem+json answer: each `errors` entry next to the field it names (`body.`, `config.` and
 * `query.` prefixes dropped; `config.epochs` → epochs), the rest in the form's alert. Unmatched names
 * go to `fallback` (e.g. a dataset's row/column problems to the file field). Focuses the first.
 */
export function showServerErrors(form, err, fallback) {
  const rest = [];
  let first = null;
  for (const e of err.errors ?? []) {
    const path = String(e.field ?? '').replace(/^(body|config|query|querystring|params|headers?)\./, '').replace(/^config\./, '');
    const name = path.split(/[.[\s]/)[0];
    const text = `${e.reason}`;
    if (name && setFieldError(form, name, text)) first ??= name;
    else if (fallback && setFieldError(form, fallback, `${e.field ? `${e.field}: ` : ''}${text}`)) first ??= fallback;
    else rest.push(`${e.field ? `${e.field}: ` : ''}${text}`);
  }
  const summary = `${err.message}${err.code ? ` (${err.code})` : ''}`;
  formError(form, rest.length ? `${summary}. ${rest.join('; ')}` : summary);
  const target = first ? errorEl(form, first)?.control : form.querySelector('.form-error');
  if (target) {
    if (!target.hasAttribute('tabindex') && target.classList.contains('form-error')) target.setAttribute('tabindex', '-1');
    target.focus();
  }
}

/** Values of the fields in `specs` that the user set (empty inputs are left to the server's defaults). */
export function changedValues(form, specs) {
  const out = {};
  for (const s of specs) {
    const c = form.elements.namedItem(s.name);
    if (!c) continue;
    if (s.type === 'bool') {
      if (c.checked !== !!s.dflt) out[s.name] = c.checked;
    } else if (s.type === 'tri') {
      if (c.value !== '') out[s.name] = c.value === 'true';
    } else if (c.value !== '' && !(s.type === 'select' && s.dflt !== undefined && String(s.dflt) === c.value)) {
      out[s.name] = s.type === 'int' || s.type === 'num' || s.numeric ? Number(c.value) : c.value;
    }
  }
  return out;
}
