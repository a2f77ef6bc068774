// New job: upload a dataset, upload a model or pick a zoo architecture, then submit a job with its
// config. Each form checks what it can in the page; the server's problem+json messages are shown next
// to the field they name.
import { api, ApiError, errorText } from './api.js';
import { h, int, replace, toast } from './dom.js';
import { changedValues, clearErrors, field, formError, showServerErrors, validate } from './forms.js';
import { datasets, loadNames, models, remember } from './store.js';

const DATASET_FIELDS = [
  { name: 'file', label: 'Data file(s)', type: 'file', multiple: true, required: true, help: 'One CSV/TSV, JSON Lines or NPZ file; the four MNIST IDX files; or one .zip/.tar/.tar.gz of those.' },
  { name: 'name', label: 'Name', type: 'text', placeholder: 'default: the file name' },
  { name: 'format', label: 'Format', type: 'select', options: [['', 'from the file name'], ['csv', 'CSV'], ['tsv', 'TSV'], ['jsonl', 'JSON Lines'], ['npz', 'NPZ'], ['idx', 'IDX (MNIST)'], ['archive', 'archive']] },
  { name: 'label_column', label: 'Label column (CSV/TSV)', type: 'text', placeholder: 'default: the last', help: 'Name or 0-based index; negative counts from the end.' },
  { name: 'skip_rows', label: 'Lines to skip (CSV/TSV)', type: 'int', min: 0, max: 1000, placeholder: '0' },
  { name: 'task', label: 'Task', type: 'select', options: [['', 'inferred from the labels'], ['classification', 'classification'], ['regression', 'regression']] },
];

const ZOO = [
  ['mlp', 'mlp — dense network (tabular or images)'],
  ['cnn', 'cnn — small convolutional network (images)'],
  ['ds-cnn', 'ds-cnn — depthwise-separable CNN (images)'],
];

export const CONFIG_GROUPS = [
  {
    legend: 'Training',
    fields: [
      { name: 'epochs', label: 'Float epochs', type: 'int', min: 0, max: 1000, placeholder: 'default 3 (0 for a trained model)', help: 'Float training before quantization.' },
      { name: 'qat_epochs', label: 'QAT epochs', type: 'int', min: 1, max: 1000, dflt: 2 },
      { name: 'batch_size', label: 'Batch size', type: 'int', min: 1, max: 8192, dflt: 128 },
      { name: 'lr', label: 'Learning rate, float', type: 'num', min: 0, exclusiveMin: true, max: 10, dflt: 0.001 },
      { name: 'qat_lr', label: 'Learning rate, QAT', type: 'num', min: 0, exclusiveMin: true, max: 10, dflt: 0.0001 },
      { name: 'seed', label: 'Seed', type: 'int', min: 0, max: 2147483647, dflt: 0 },
    ],
  },
  {
    legend: 'Quantization',
    fields: [
      { name: 'weight_bits', label: 'Weight bits', type: 'select', numeric: true, dflt: 8, options: [8, 7, 6, 5, 4, 3, 2].map((b) => [String(b), `${b}-bit`]) },
      { name: 'observer', label: 'PTQ calibration', type: 'select', dflt: 'minmax', options: [['minmax', 'min/max'], ['ema', 'moving average'], ['percentile', 'percentile'], ['mse', 'MSE search']], help: 'Range calibration of the static PTQ baseline.' },
      { name: 'calibration_samples', label: 'Calibration samples', type: 'int', min: 1, max: 1000000, dflt: 1000 },
      { name: 'per_channel', label: 'Per-channel weight scales (convolutions)', type: 'bool', dflt: true },
    ],
  },
  {
    legend: 'Data',
    fields: [
      { name: 'test_fraction', label: 'Test fraction', type: 'num', min: 0, exclusiveMin: true, max: 0.9, dflt: 0.2, help: 'Split off when the data has no test set.' },
      { name: 'validation_fraction', label: 'Validation fraction', type: 'num', min: 0, max: 0.5, dflt: 0 },
      { name: 'patience', label: 'Early-stopping patience (epochs)', type: 'int', min: 0, max: 1000, dflt: 0, help: '0 = off; needs a validation fraction above 0.' },
      { name: 'standardize', label: 'Standardise features', type: 'tri', options: [['', 'default'], ['true', 'on'], ['false', 'off']] },
      { name: 'task', label: 'Task', type: 'select', options: [['', 'inferred'], ['classification', 'classification'], ['regression', 'regression']] },
    ],
  },
  {
    legend: 'Model and augmentation',
    fields: [
      { name: 'width', label: 'Zoo width multiplier', type: 'num', min: 0, exclusiveMin: true, max: 16, dflt: 1 },
      { name: 'augment_shift', label: 'Random shift (pixels)', type: 'int', min: 0, max: 8, dflt: 0 },
      { name: 'augment_noise', label: 'Gaussian noise (std)', type: 'num', min: 0, max: 10, dflt: 0 },
      { name: 'augment_flip', label: 'Random horizontal flip', type: 'bool', dflt: false },
    ],
  },
];
const CONFIG_FIELDS = CONFIG_GROUPS.flatMap((g) => g.fields);

const formShell = (id, title, ...children) =>
  h('form', { id, class: 'panel', novalidate: true, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), h('p', { class: 'alert error form-error', role: 'alert', hidden: true }), ...children);

export async function newView(main, signal) {
  // ---------------------------------------------------------------- dataset upload
  const dsResult = h('p', { class: 'result', role: 'status', id: 'dataset-result' });
  const dsForm = formShell('dataset-form', '1. Upload a dataset', ...DATASET_FIELDS.map((f) => field('dataset-form', f)), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload dataset')), dsResult);

  // ---------------------------------------------------------------- model
  const sourceZoo = h('input', { type: 'radio', name: 'source', id: 'model-source-zoo', value: 'zoo', checked: true });
  const sourceUpload = h('input', { type: 'radio', name: 'source', id: 'model-source-upload', value: 'upload' });
  const zooPart = h('div', { id: 'model-zoo-part' }, field('model-form', { name: 'zoo', label: 'Architecture', type: 'select', options: ZOO, dflt: 'mlp' }), field('model-form', { name: 'width', label: 'Width multiplier', type: 'num', min: 0, exclusiveMin: true, max: 16, dflt: 1 }));
  const uploadPart = h(
    'div',
    { id: 'model-upload-part', hidden: true },
    field('model-form', { name: 'file', label: 'Model file(s)', type: 'file', multiple: true, required: true, help: 'TF.js model.json with its weight files, a Keras JSON (with its weights manifest and files), or one archive of those.' }),
  );
  const mdResult = h('p', { class: 'result', role: 'status', id: 'model-result' });
  const mdForm = formShell(
    'model-form',
    '2. Choose a model',
    h('fieldset', { class: 'radios' }, h('legend', {}, 'Source'), h('div', { class: 'field check' }, sourceZoo, h('label', { for: 'model-source-zoo' }, 'A zoo architecture (built for the dataset at job time)')), h('div', { class: 'field check' }, sourceUpload, h('label', { for: 'model-source-upload' }, 'Upload a TF.js or Keras model'))),
    zooPart,
    uploadPart,
    field('model-form', { name: 'name', label: 'Name', type: 'text', placeholder: 'default: zoo:NAME or the model’s own' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add model')),
    mdResult,
  );
  const syncSource = () => {
    zooPart.hidden = !sourceZoo.checked;
    uploadPart.hidden = sourceZoo.checked;
  };
  sourceZoo.addEventListener('change', syncSource);
  sourceUpload.addEventListener('change', syncSource);

  // ---------------------------------------------------------------- job
  const dsSelect = field('job-form', { name: 'dataset_id', label: 'Dataset', type: 'select', required: true, options: [['', 'loading…']] });
  const mdSelect = field('job-form', { name: 'model_id', label: 'Model', type: 'select', required: true, options: [['', 'loading…']] });
  const jobForm = formShell(
    'job-form',
    '3. Submit a job',
    h('div', { class: 'grid-2 tight' }, dsSelect, mdSelect),
    h(
      'details',
      { class: 'options', open: true },
      h('summary', {}, 'Options (empty = the default shown)'),
      h('div', { class: 'option-groups' }, CONFIG_GROUPS.map((g) => h('fieldset', {}, h('legend', {}, g.legend), g.fields.map((f) => field('job-form', f))))),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'submit-job' }, 'Submit job')),
  );

  replace(
    main,
    h('div', { class: 'title-row' }, h('h1', {}, 'New job')),
    h('p', { class: 'muted' }, 'Upload a dataset and choose a model (or reuse ones uploaded before), then submit a QAT job. Fields marked * are required.'),
    h('div', { class: 'grid-new' }, h('div', { class: 'stack' }, dsForm, mdForm), jobForm),
  );

  const fillSelect = (select, items, describe, selected) => {
    const current = selected ?? select.value;
    replace(
      select,
      h('option', { value: '' }, items.length ? 'Choose…' : 'none yet: add one first'),
      items
        .slice()
        .sort((a, b) => (a.created_at < b.created_at ? 1 : -1))
        .map((x) => h('option', { value: x.id, selected: x.id === current }, describe(x))),
    );
  };
  const describeDataset = (d) => `${d.name} (${int(d.samples)} samples${d.classes ? `, ${d.classes} classes` : `, ${d.task}`})`;
  const describeModel = (m) => `${m.name}${m.zoo ? ` (zoo, width ${m.zoo.width})` : m.params !== null ? ` (${int(m.params)} params)` : ''}`;
  const dsEl = jobForm.elements.namedItem('dataset_id');
  const mdEl = jobForm.elements.namedItem('model_id');
  const refreshSelects = (sel = {}) => {
    fillSelect(dsEl, datasets(), describeDataset, sel.dataset);
    fillSelect(mdEl, models(), describeModel, sel.model);
  };
  try {
    await loadNames(true);
    refreshSelects();
  } catch (err) {
    formError(jobForm, `Could not list your datasets and models: ${errorText(err)}`);
  }

  // ---------------------------------------------------------------- submit handlers
  const busy = (form, on) => {
    for (const b of form.querySelectorAll('button[type=submit]')) b.disabled = on;
    form.setAttribute('aria-busy', String(on));
  };

  dsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(dsForm);
    dsResult.textContent = '';
    if (!validate(dsForm)) return;
    const fd = new FormData();
    for (const f of dsForm.elements.namedItem('file').files) fd.append('file', f, f.name);
    for (const k of ['name', 'format', 'label_column', 'skip_rows', 'task']) {
      const v = dsForm.elements.namedItem(k).value.trim();
      if (v !== '') fd.append(k, v);
    }
    busy(dsForm, true);
    dsResult.textContent = 'Uploading and checking the data…';
    try {
      const d = await api('/v1/datasets', { method: 'POST', form: fd, signal });
      remember('datasets', d);
      refreshSelects({ dataset: d.id });
      dsResult.textContent = `Uploaded ${d.name}: ${int(d.samples)} samples, ${int(d.features)} features, ${d.task}${d.classes ? `, ${d.classes} classes` : ''}. Selected for the job.`;
      toast(`Dataset ${d.name} uploaded.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      dsResult.textContent = '';
      if (err instanceof ApiError) showServerErrors(dsForm, err, 'file');
      else formError(dsForm, errorText(err));
    } finally {
      busy(dsForm, false);
    }
  });

  mdForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(mdForm);
    mdResult.textContent = '';
    if (!validate(mdForm)) return;
    const name = mdForm.elements.namedItem('name').value.trim();
    busy(mdForm, true);
    try {
      let m;
      if (sourceZoo.checked) {
        const width = mdForm.elements.namedItem('width').value;
        m = await api('/v1/models', { method: 'POST', json: { zoo: mdForm.elements.namedItem('zoo').value, ...(width !== '' ? { width: Number(width) } : {}), ...(name ? { name } : {}) }, signal });
      } else {
        const fd = new FormData();
        for (const f of mdForm.elements.namedItem('file').files) fd.append('file', f, f.name);
        if (name) fd.append('name', name);
        m = await api('/v1/models', { method: 'POST', form: fd, signal });
      }
      remember('models', m);
      refreshSelects({ model: m.id });
      const warn = m.unsupported_layers?.length ? ` Warning: ${m.unsupported_layers.map((l) => `${l.name} (${l.class_name}): ${l.reason}`).join('; ')}.` : '';
      mdResult.textContent = `Added ${m.name}${m.params !== null ? ` (${int(m.params)} parameters)` : ''}. Selected for the job.${warn}`;
      toast(`Model ${m.name} added.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      if (err instanceof ApiError) showServerErrors(mdForm, err, sourceZoo.checked ? null : 'file');
      else formError(mdForm, errorText(err));
    } finally {
      busy(mdForm, false);
    }
  });

  // One idempotency key per filled-in form: a double click or a retried request submits one job.
  let idempotencyKey = crypto.randomUUID();
  jobForm.addEventListener('input', () => {
    idempotencyKey = crypto.randomUUID();
  });
  jobForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(jobForm);
    if (!validate(jobForm)) return;
    const body = { dataset_id: dsEl.value, model_id: mdEl.value, config: changedValues(jobForm, CONFIG_FIELDS) };
    busy(jobForm, true);
    try {
      const job = await api('/v1/jobs', { method: 'POST', json: body, headers: { 'idempotency-key': idempotencyKey }, signal });
      toast(`Job ${job.id.slice(0, 8)} submitted.`);
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      if (err?.name === 'AbortError') return;
      if (err instanceof ApiError) showServerErrors(jobForm, err);
      else formError(jobForm, errorText(err));
    } finally {
      busy(jobForm, false);
    }
  });
}
