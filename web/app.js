// Quarry chat UI. Plain ES module, no build step: talks to the HTTP API
// (/api/chat streamed as Server-Sent Events, /api/conversations,
// /api/feedback, /api/verified-queries, /api/catalog) and draws charts with
// the vega-embed global loaded by index.html.

const TOKEN_KEY = 'quarry.token';
const ROW_LIMIT = 200; // rows drawn before "Show all"
const STICK_DISTANCE = 80; // px from the bottom that still counts as "at the bottom"

const state = {
  conversationId: null,
  busy: false,
  abort: null, // AbortController of the answer being streamed
  conversations: [],
  catalog: null,
  views: new Set(), // vega views to finalize when the chat is cleared
  stick: true,
  followTurn: null,
};

const els = {
  app: document.getElementById('app'),
  sidebar: document.getElementById('sidebar'),
  menuToggle: document.getElementById('menu-toggle'),
  sidebarClose: document.getElementById('sidebar-close'),
  backdrop: document.getElementById('backdrop'),
  newChat: document.getElementById('new-chat'),
  newChatCompact: document.getElementById('new-chat-compact'),
  list: document.getElementById('conversation-list'),
  listEmpty: document.getElementById('conversation-empty'),
  forgetToken: document.getElementById('forget-token'),
  main: document.getElementById('main'),
  scroller: document.getElementById('scroller'),
  empty: document.getElementById('empty-state'),
  emptyMetrics: document.getElementById('empty-metrics'),
  samples: document.getElementById('sample-questions'),
  messages: document.getElementById('messages'),
  composer: document.getElementById('composer'),
  input: document.getElementById('question'),
  send: document.getElementById('send'),
  tokenDialog: document.getElementById('token-dialog'),
  tokenForm: document.getElementById('token-form'),
  tokenInput: document.getElementById('token-input'),
  tokenError: document.getElementById('token-error'),
  tokenCancel: document.getElementById('token-cancel'),
};

// ---------------------------------------------------------------------------
// Small DOM helpers

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const ICONS = {
  up: '<path d="M7 10v10H4V10h3zm2 10h8.2a2 2 0 0 0 2-1.6l1.3-6.5A2 2 0 0 0 18.5 9.5H14l.8-3.8a1.6 1.6 0 0 0-2.9-1.2L9 9.4V20z" fill="currentColor"/>',
  down: '<path d="M7 14V4H4v10h3zm2-10h8.2a2 2 0 0 1 2 1.6l1.3 6.5a2 2 0 0 1-2 2.4H14l.8 3.8a1.6 1.6 0 0 1-2.9 1.2L9 14.6V4z" fill="currentColor"/>',
  trash: '<path d="M5 7h14M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
  download: '<path d="M12 4v11m0 0l-4-4m4 4l4-4M5 19h14" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  alert: '<path d="M12 8v5m0 3.5v.5M10.3 3.9L2.5 17.5A2 2 0 0 0 4.2 20.5h15.6a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>',
  spark: '<path d="M12 3l1.8 5.2L19 10l-5.2 1.8L12 17l-1.8-5.2L5 10l5.2-1.8L12 3z" fill="currentColor"/>',
  chat: '<path d="M5 5h14a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H10l-4 3.5V16H5a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/>',
};

function icon(name, size = 18) {
  const span = document.createElement('span');
  span.className = 'icon';
  span.setAttribute('aria-hidden', 'true');
  span.innerHTML = `<svg viewBox="0 0 24 24" width="${size}" height="${size}" focusable="false">${ICONS[name]}</svg>`;
  return span;
}

// ---------------------------------------------------------------------------
// Formatting

const fmt = {
  currency: new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  percent: new Intl.NumberFormat('en-US', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  ratio: new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
  integer: new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }),
  number: new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }),
  date: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }),
  dateTime: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }),
};

const NUMERIC_ROLES = new Set(['metric', 'previous', 'change', 'change_pct']);

function toNumber(value) {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function formatDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(value);
  if (!m) return value;
  const [, y, mo, d, hh, mi] = m;
  const hasTime = hh !== undefined && !(hh === '00' && mi === '00');
  const date = new Date(Date.UTC(+y, +mo - 1, +d, hh ? +hh : 0, mi ? +mi : 0));
  if (Number.isNaN(date.getTime())) return value;
  return hasTime ? fmt.dateTime.format(date) : fmt.date.format(date);
}

/** The text a table cell shows for `value` in column `col`. */
function formatValue(value, col = {}) {
  if (value === null || value === undefined || value === '') return '—';
  if (col.role === 'time' && typeof value === 'string') return formatDate(value);
  const numeric = col.format || NUMERIC_ROLES.has(col.role) ? toNumber(value) : (typeof value === 'number' ? value : null);
  if (numeric === null) {
    if (typeof value === 'object') return JSON.stringify(value);
    return String(value);
  }
  let text;
  switch (col.format) {
    case 'currency': text = fmt.currency.format(numeric); break;
    case 'percent': text = fmt.percent.format(numeric); break;
    case 'ratio': text = `${fmt.ratio.format(numeric)}x`; break;
    case 'integer': text = fmt.integer.format(Math.round(numeric)); break;
    default: text = fmt.number.format(numeric);
  }
  if ((col.role === 'change' || col.role === 'change_pct') && numeric > 0) text = `+${text}`;
  return text;
}

function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function relativeTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 24) return `${hrs} h ago`;
  const days = Math.round(hrs / 24);
  if (days < 7) return days === 1 ? 'yesterday' : `${days} days ago`;
  return fmt.date.format(new Date(t));
}

function slug(text) {
  const s = String(text || 'quarry-result').toLowerCase().normalize('NFKD')
    .replace(/[^\w\s-]/g, '').trim().replace(/[\s_-]+/g, '-').slice(0, 60);
  return s || 'quarry-result';
}

// ---------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(message, { status = 0, code = '', type = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.type = type;
  }
}

function storedToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

function storeToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage unavailable: the token lasts for this page only */ }
  memoryToken = token;
  els.forgetToken.hidden = !token;
}

let memoryToken = storedToken();

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const message = body && typeof body.message === 'string' && body.message
    ? body.message
    : `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}.`;
  return new ApiError(message, { status: res.status, code: body?.code || '', type: body?.type || '' });
}

/** fetch with the stored token; asks for a token on 401 and retries. */
async function request(method, path, { body, accept = 'application/json', signal } = {}) {
  for (;;) {
    const headers = { Accept: accept };
    if (memoryToken) headers.Authorization = `Bearer ${memoryToken}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method, headers, signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError('Quarry could not be reached. Check your connection and that the server is running, then try again.', { code: 'network' });
    }
    if (res.status === 401) {
      const err = await errorFrom(res);
      await askForToken(memoryToken ? 'That token was not accepted. Check it and try again.' : '', err);
      continue;
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

async function getJSON(path) {
  const res = await request('GET', path);
  return res.json();
}

async function postJSON(path, body) {
  const res = await request('POST', path, { body });
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// --- token prompt ----------------------------------------------------------

let tokenWaiters = null;

function askForToken(problem, cause) {
  if (!tokenWaiters) {
    tokenWaiters = [];
    els.tokenInput.value = '';
    els.tokenError.hidden = !problem;
    els.tokenError.textContent = problem || '';
    if (typeof els.tokenDialog.showModal === 'function') els.tokenDialog.showModal();
    else els.tokenDialog.setAttribute('open', '');
    els.tokenInput.focus();
  }
  return new Promise((resolve, reject) => tokenWaiters.push({ resolve, reject, cause }));
}

function settleToken(token) {
  const waiters = tokenWaiters || [];
  tokenWaiters = null;
  if (els.tokenDialog.open) els.tokenDialog.close();
  for (const w of waiters) {
    if (token) w.resolve();
    else w.reject(new ApiError('Quarry needs an access token. Reload the page to enter one.', { status: 401, code: w.cause?.code || 'unauthorized', type: w.cause?.type || '' }));
  }
}

els.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = els.tokenInput.value.trim();
  if (!token) {
    els.tokenError.hidden = false;
    els.tokenError.textContent = 'Enter the access token.';
    return;
  }
  storeToken(token);
  settleToken(token);
});
els.tokenCancel.addEventListener('click', () => settleToken(''));
els.tokenDialog.addEventListener('cancel', (e) => { e.preventDefault(); settleToken(''); });
els.forgetToken.hidden = !memoryToken;
els.forgetToken.addEventListener('click', () => {
  storeToken('');
  notify('The access token was removed from this browser.');
});

// --- chat stream -----------------------------------------------------------

/**
 * POST /api/chat and feed each Server-Sent Event to handlers[event](data).
 * Resolves after `done` or `error`; throws if the stream breaks off.
 */
async function streamChat(body, handlers, signal) {
  const res = await request('POST', '/api/chat', { body, accept: 'text/event-stream', signal });
  const type = res.headers.get('content-type') || '';
  if (!type.includes('text/event-stream') || !res.body) {
    // A server that ignores Accept answers with the whole document.
    const doc = await res.json();
    handlers.conversation?.({ conversation_id: doc.conversation_id, turn: doc.turn });
    handlers.done?.(doc);
    return;
  }

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data = [];
  let finished = false;

  const dispatch = () => {
    if (data.length === 0) { event = ''; return; }
    const name = event || 'message';
    const raw = data.join('\n');
    event = '';
    data = [];
    let payload;
    try { payload = JSON.parse(raw); } catch { payload = raw; }
    if (name === 'done' || name === 'error') finished = true;
    handlers[name]?.(payload);
  };

  const processLines = (final) => {
    // Keep a trailing "\r" back: it may be the first half of "\r\n".
    let end = buffer.length;
    if (!final && buffer.endsWith('\r')) end -= 1;
    const text = buffer.slice(0, end);
    const lines = text.split(/\r\n|\r|\n/);
    const rest = final ? '' : lines.pop(); // incomplete last line
    buffer = rest + buffer.slice(end);
    for (const line of lines) {
      if (finished) return;
      if (line === '') { dispatch(); continue; }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (final && !finished) dispatch();
  };

  try {
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) {
        buffer += decoder.decode();
        processLines(true);
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      processLines(false);
    }
  } finally {
    if (finished) reader.cancel().catch(() => {});
  }
  if (!finished) {
    throw new ApiError('The answer broke off before it was complete. Try asking again.', { code: 'stream_ended' });
  }
}

// ---------------------------------------------------------------------------
// Notices (errors outside a chat turn)

let noticeEl = null;
function notify(message, { error = false } = {}) {
  if (!noticeEl) {
    noticeEl = h('div', { class: 'notice', role: 'status' });
    els.main.prepend(noticeEl);
  }
  noticeEl.replaceChildren(
    error ? icon('alert') : icon('check'),
    h('span', { class: 'notice-text', text: message }),
    h('button', { type: 'button', class: 'icon-button notice-close', 'aria-label': 'Dismiss', onclick: () => { noticeEl.hidden = true; } }, '×'),
  );
  noticeEl.classList.toggle('notice-error', error);
  noticeEl.hidden = false;
  clearTimeout(notify.timer);
  if (!error) notify.timer = setTimeout(() => { if (noticeEl) noticeEl.hidden = true; }, 5000);
}

// ---------------------------------------------------------------------------
// Result table

function renderTable(columns, rows, caption) {
  const indexed = rows.map((row, i) => ({ row, i }));
  let sortCol = -1;
  let sortDir = 1;
  let showAll = rows.length <= ROW_LIMIT;

  const numeric = columns.map((c, ci) => NUMERIC_ROLES.has(c.role)
    || (c.format && rows.some((r) => toNumber(r[ci]) !== null))
    || (rows.length > 0 && rows.every((r) => r[ci] === null || typeof r[ci] === 'number')));

  const table = h('table', { class: 'result-table', 'data-testid': 'result-table' });
  if (caption) table.append(h('caption', { class: 'sr-only', text: caption }));
  const headRow = h('tr');
  const ths = columns.map((col, ci) => {
    const label = col.label || col.name;
    const btn = h('button', { type: 'button', class: 'sort-button', title: `Sort by ${label}` },
      h('span', { text: label }), h('span', { class: 'sort-indicator', 'aria-hidden': 'true' }));
    btn.addEventListener('click', () => {
      if (sortCol === ci) sortDir = -sortDir;
      else { sortCol = ci; sortDir = numeric[ci] ? -1 : 1; }
      update();
    });
    const th = h('th', { scope: 'col', class: numeric[ci] ? 'num' : null, 'aria-sort': 'none', 'data-role': col.role || null }, btn);
    headRow.append(th);
    return th;
  });
  const tbody = h('tbody');
  table.append(h('thead', {}, headRow), tbody);

  const more = h('button', { type: 'button', class: 'link-button show-all' });
  more.addEventListener('click', () => { showAll = true; update(); });

  function compare(a, b) {
    const x = a.row[sortCol];
    const y = b.row[sortCol];
    const xNull = x === null || x === undefined || x === '';
    const yNull = y === null || y === undefined || y === '';
    if (xNull || yNull) return xNull === yNull ? a.i - b.i : (xNull ? 1 : -1); // empty last either way
    let c;
    const nx = toNumber(x);
    const ny = toNumber(y);
    if (nx !== null && ny !== null) c = nx - ny;
    else c = String(x).localeCompare(String(y), undefined, { numeric: true, sensitivity: 'base' });
    return c === 0 ? a.i - b.i : c * sortDir;
  }

  function update() {
    const ordered = sortCol === -1 ? indexed : [...indexed].sort(compare);
    const shown = showAll ? ordered : ordered.slice(0, ROW_LIMIT);
    tbody.replaceChildren(...shown.map(({ row }) => h('tr', {}, columns.map((col, ci) => {
      const v = row[ci];
      const td = h('td', { class: numeric[ci] ? 'num' : null, text: formatValue(v, col) });
      if (v === null || v === undefined) td.classList.add('null');
      return td;
    }))));
    ths.forEach((th, ci) => {
      const active = ci === sortCol;
      th.setAttribute('aria-sort', active ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
      th.querySelector('.sort-indicator').textContent = active ? (sortDir > 0 ? '▲' : '▼') : '';
    });
    more.hidden = showAll;
    more.textContent = `Show all ${fmt.integer.format(rows.length)} rows`;
  }
  update();

  const scroll = h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': caption ? `Result table: ${caption}` : 'Result table' }, table);
  return { scroll, more };
}

function csvFor(columns, rows) {
  const cell = (v) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map((c) => cell(c.label || c.name)).join(',')];
  for (const row of rows) lines.push(columns.map((_, i) => cell(row[i])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function downloadCsv(columns, rows, name) {
  const blob = new Blob(['\ufeff', csvFor(columns, rows)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `${slug(name)}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---------------------------------------------------------------------------
// Charts

const CHART_CONFIG = {
  font: '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  background: null,
  title: { anchor: 'start', fontSize: 13, fontWeight: 600, color: '#1f2430', offset: 12 },
  axis: { labelColor: '#4b5565', titleColor: '#4b5565', gridColor: '#eceef2', domainColor: '#d0d5dd', tickColor: '#d0d5dd', labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500 },
  legend: { labelColor: '#4b5565', titleColor: '#4b5565', labelFontSize: 11, titleFontSize: 11 },
  view: { stroke: null },
};

function drawChart(container, spec) {
  container.dataset.rendered = 'false';
  container.replaceChildren();
  if (typeof window.vegaEmbed !== 'function') {
    container.append(h('p', { class: 'chart-fallback muted', text: 'The chart library did not load, so this answer is shown as a table only.' }));
    return;
  }
  window.vegaEmbed(container, spec, { actions: false, renderer: 'svg', config: CHART_CONFIG })
    .then((result) => {
      if (!container.isConnected) { result.finalize(); return; }
      state.views.add(result);
      container.dataset.rendered = 'true';
    })
    .catch((err) => {
      console.warn('Quarry: chart could not be drawn', err);
      container.replaceChildren(h('p', { class: 'chart-fallback muted', text: 'This chart could not be drawn; the table below has the same numbers.' }));
    });
}

function finalizeViews() {
  for (const v of state.views) { try { v.finalize(); } catch { /* already gone */ } }
  state.views.clear();
}

// ---------------------------------------------------------------------------
// One turn: the question and its answer

const STATUS_TEXT = {
  start: 'Reading the question…',
  answer: 'Running the query…',
  table: 'Writing the answer…',
};

class Turn {
  constructor(questionText) {
    const qid = nextId('q');
    this.root = h('div', { class: 'turn' });
    this.question = h('div', { class: 'question' }, h('h3', { id: qid, class: 'question-text', text: questionText }));
    this.questionText = questionText;

    this.article = h('article', { class: 'message', 'data-testid': 'message', 'aria-labelledby': qid });
    this.status = h('p', { class: 'message-status', role: 'status' },
      h('span', { class: 'dots', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
      h('span', { class: 'status-text', text: STATUS_TEXT.start }));
    this.interpretation = h('p', { class: 'interpretation', 'data-testid': 'interpretation', hidden: true });
    this.narrative = h('div', { class: 'narrative', 'data-testid': 'narrative', hidden: true });
    this.options = h('div', { class: 'options', role: 'group', 'aria-label': 'Choose one', hidden: true });
    this.chartWrap = h('figure', { class: 'chart-wrap', hidden: true });
    this.chart = h('div', { class: 'chart', 'data-testid': 'chart' });
    this.chartCaption = h('figcaption', { class: 'sr-only' });
    this.chartWrap.append(this.chartCaption, this.chart);
    this.tableBlock = h('div', { class: 'table-block', hidden: true });
    this.sql = h('details', { class: 'sql', 'data-testid': 'show-sql', hidden: true });
    this.notes = h('ul', { class: 'notes', 'aria-label': 'Notes', hidden: true });
    this.suggestions = h('div', { class: 'suggestions', hidden: true });
    this.actions = h('div', { class: 'actions', hidden: true });
    this.feedbackForm = null;

    this.article.append(this.status, this.interpretation, this.narrative, this.options, this.chartWrap,
      this.tableBlock, this.sql, this.notes, this.suggestions, this.actions);
    this.root.append(this.question, this.article);

    this.kind = null;
    this.ids = { conversation_id: null, turn: null };
    this.narrativeText = '';
    this.chartKey = null;
    this.tableKey = null;
    this.title = '';
  }

  setStatus(step) {
    if (STATUS_TEXT[step]) this.status.querySelector('.status-text').textContent = STATUS_TEXT[step];
  }

  setIds({ conversation_id, turn }) {
    if (conversation_id) this.ids.conversation_id = conversation_id;
    if (turn !== undefined && turn !== null) this.ids.turn = turn;
  }

  setKind(kind) {
    if (!kind) return;
    this.kind = kind;
    this.article.dataset.kind = kind;
    if (kind === 'answer') this.setStatus('answer');
  }

  setInterpretation(text) {
    this.interpretation.textContent = text || '';
    this.interpretation.hidden = !text;
  }

  appendNarrative(delta) {
    if (typeof delta !== 'string' || !delta) return;
    this.setNarrative(this.narrativeText + delta);
  }

  setNarrative(text) {
    this.narrativeText = text || '';
    this.narrative.textContent = this.narrativeText;
    this.narrative.hidden = !this.narrativeText;
  }

  setSql(sql) {
    this.sql.hidden = !sql;
    if (!sql) return;
    const code = h('code', { text: sql });
    const summary = h('summary', {}, h('span', { class: 'summary-text', text: 'Show SQL' }));
    const copy = h('button', { type: 'button', class: 'button small secondary copy-sql', text: 'Copy' });
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(sql);
        copy.textContent = 'Copied';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        copy.textContent = 'Selected';
      }
      setTimeout(() => { copy.textContent = 'Copy'; }, 2000);
    });
    const wasOpen = this.sql.open;
    this.sql.replaceChildren(summary, h('div', { class: 'sql-body' }, copy, h('pre', {}, code)));
    this.sql.open = wasOpen;
    this.sql.ontoggle = () => { summary.firstChild.textContent = this.sql.open ? 'Hide SQL' : 'Show SQL'; };
  }

  setChart(chart) {
    if (chart?.title) this.title = chart.title;
    const spec = chart?.spec;
    if (!spec) {
      this.chartWrap.hidden = true;
      this.chart.replaceChildren();
      this.chartKey = null;
      return;
    }
    const key = JSON.stringify(spec);
    if (key === this.chartKey) return;
    this.chartKey = key;
    this.chartWrap.hidden = false;
    this.chart.dataset.kind = chart.kind || '';
    this.chartCaption.textContent = chart.title ? `Chart: ${chart.title}` : 'Chart';
    drawChart(this.chart, spec);
    this.setStatus('table');
  }

  setTable(columns, rows) {
    columns = Array.isArray(columns) ? columns : [];
    rows = Array.isArray(rows) ? rows : [];
    const key = JSON.stringify([columns, rows]);
    if (key === this.tableKey) return;
    this.tableKey = key;
    if (columns.length === 0) {
      this.tableBlock.hidden = true;
      this.tableBlock.replaceChildren();
      return;
    }
    this.columns = columns;
    this.rows = rows;
    const caption = this.title || this.interpretation.textContent || this.questionText;
    const { scroll, more } = renderTable(columns, rows, caption);
    const count = rows.length === 1 ? '1 row' : `${fmt.integer.format(rows.length)} rows`;
    const download = h('button', { type: 'button', class: 'button small secondary', 'data-testid': 'download-csv' },
      icon('download', 16), 'Download CSV');
    download.addEventListener('click', () => downloadCsv(this.columns, this.rows, this.title || this.questionText));
    const toolbar = h('div', { class: 'table-toolbar' }, h('span', { class: 'muted row-count', text: count }), download);
    const body = rows.length === 0
      ? h('p', { class: 'muted no-rows', text: 'The query returned no rows.' })
      : null;
    this.tableBlock.replaceChildren(toolbar, body || scroll, more);
    this.tableBlock.hidden = false;
    this.setStatus('table');
  }

  setNotes(notes) {
    notes = Array.isArray(notes) ? notes.filter(Boolean) : [];
    this.notes.replaceChildren(...notes.map((n) => h('li', { text: n })));
    this.notes.hidden = notes.length === 0;
  }

  setSuggestions(list) {
    list = Array.isArray(list) ? list.filter((s) => typeof s === 'string' && s.trim()) : [];
    const buttons = list.map((text) => h('button', {
      type: 'button', class: 'chip', 'data-testid': 'suggestion',
      onclick: () => ask(text),
    }, text));
    const label = this.kind === 'refusal' ? 'You could ask instead' : 'Ask next';
    this.suggestions.replaceChildren(
      ...(buttons.length ? [h('p', { class: 'suggestions-label', text: label }), h('div', { class: 'chip-row' }, buttons)] : []),
    );
    this.suggestions.hidden = buttons.length === 0;
  }

  setOptions(options) {
    options = Array.isArray(options) ? options : [];
    this.optionLabels = options.map((o) => o?.label || '');
    const buttons = options.map((o, i) => h('button', {
      type: 'button', class: 'option', 'data-testid': 'option', 'data-index': String(i + 1),
      onclick: () => ask(String(i + 1), { display: o?.label || String(i + 1) }),
    }, h('span', { class: 'option-number', 'aria-hidden': 'true', text: String(i + 1) }),
    h('span', { class: 'option-label', text: o?.label || `Option ${i + 1}` })));
    this.options.replaceChildren(...buttons);
    this.options.hidden = buttons.length === 0;
  }

  disableOptions() {
    for (const b of this.options.querySelectorAll('button')) b.disabled = true;
  }

  renderActions(doc) {
    const kind = doc.kind;
    this.actions.replaceChildren();
    if (kind !== 'answer' && kind !== 'refusal') { this.actions.hidden = true; return; }
    const ids = { conversation_id: this.ids.conversation_id, turn: this.ids.turn };
    const canSend = ids.conversation_id && ids.turn !== null && ids.turn !== undefined;
    const status = h('span', { class: 'feedback-status', 'data-testid': 'feedback-status', role: 'status' });
    const up = h('button', { type: 'button', class: 'icon-button thumb', 'data-testid': 'thumbs-up', 'aria-label': 'Good answer', 'aria-pressed': 'false', title: 'Good answer' }, icon('up'));
    const formId = nextId('fb');
    const down = h('button', { type: 'button', class: 'icon-button thumb', 'data-testid': 'thumbs-down', 'aria-label': 'Bad answer', 'aria-pressed': 'false', 'aria-expanded': 'false', 'aria-controls': formId, title: 'Bad answer' }, icon('down'));

    const correctionId = nextId('corr');
    const correction = h('textarea', { id: correctionId, rows: '2', 'data-testid': 'correction-input', placeholder: 'e.g. it should have used installs from paid networks only' });
    const form = h('form', { class: 'feedback-form', id: formId, hidden: true },
      h('label', { for: correctionId }, 'What should it have been? ', h('span', { class: 'muted', text: '(optional)' })),
      correction,
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'button small primary', 'data-testid': 'send-correction', text: 'Send feedback' }),
        h('button', { type: 'button', class: 'button small secondary', text: 'Cancel', onclick: () => closeForm(true) })));
    const closeForm = (refocus) => {
      form.hidden = true;
      down.setAttribute('aria-expanded', 'false');
      if (refocus) down.focus();
    };

    const send = async (rating, text) => {
      if (!canSend) { status.textContent = 'This answer cannot take feedback.'; return false; }
      const body = { ...ids, rating };
      if (text) body.correction = text;
      status.classList.remove('error');
      try {
        await postJSON('/api/feedback', body);
        return true;
      } catch (err) {
        status.classList.add('error');
        status.textContent = `Feedback was not saved: ${err.message}`;
        return false;
      }
    };

    up.addEventListener('click', async () => {
      if (up.getAttribute('aria-pressed') === 'true') return;
      up.disabled = true;
      const ok = await send('up');
      up.disabled = false;
      if (!ok) return;
      up.setAttribute('aria-pressed', 'true');
      down.setAttribute('aria-pressed', 'false');
      closeForm(false);
      status.textContent = 'Thanks for the feedback.';
    });
    down.addEventListener('click', () => {
      const open = form.hidden;
      form.hidden = !open;
      down.setAttribute('aria-expanded', String(open));
      if (open) correction.focus();
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const submit = form.querySelector('[type=submit]');
      submit.disabled = true;
      const ok = await send('down', correction.value.trim());
      submit.disabled = false;
      if (!ok) return;
      down.setAttribute('aria-pressed', 'true');
      up.setAttribute('aria-pressed', 'false');
      correction.value = '';
      closeForm(true);
      status.textContent = 'Thanks, this will help improve future answers.';
    });

    const group = h('div', { class: 'thumbs', role: 'group', 'aria-label': 'Rate this answer' }, up, down);
    const items = [group];
    if (kind === 'answer') {
      const save = h('button', { type: 'button', class: 'button small secondary save-verified', 'data-testid': 'save-verified', title: 'Save this question and its query as a verified example' }, 'Save as verified');
      save.addEventListener('click', async () => {
        if (!canSend) return;
        save.disabled = true;
        status.classList.remove('error');
        try {
          await postJSON('/api/verified-queries', ids);
          save.replaceChildren(icon('check', 16), 'Saved');
          save.classList.add('saved');
          status.textContent = 'Saved as a verified query.';
        } catch (err) {
          save.disabled = false;
          status.classList.add('error');
          status.textContent = `Not saved: ${err.message}`;
        }
      });
      items.push(save);
    }
    items.push(status);
    const meta = [];
    if (doc.planner === 'verified') meta.push('From a verified query');
    else if (doc.planner === 'cache') meta.push('From a recent answer');
    const took = formatDuration(doc.timings?.total_ms);
    if (took) meta.push(took);
    if (meta.length) items.push(h('span', { class: 'meta muted', text: meta.join(' · ') }));
    this.actions.append(h('div', { class: 'actions-row' }, items), form);
    this.actions.hidden = false;
  }

  /** Render from the full response document (authoritative). */
  finish(doc, fallbackIds = {}) {
    this.status.remove();
    this.setIds({
      conversation_id: doc.conversation_id ?? fallbackIds.conversation_id,
      turn: doc.turn ?? fallbackIds.turn,
    });
    this.setKind(doc.kind || this.kind || 'answer');
    this.setInterpretation(doc.interpretation);
    if (typeof doc.narrative === 'string' && doc.narrative) this.setNarrative(doc.narrative);
    if (doc.kind === 'answer') {
      if (doc.chart?.title) this.title = doc.chart.title;
      this.setTable(doc.columns, doc.rows);
      this.setChart(doc.chart);
      this.setSql(doc.sql);
    } else {
      this.setChart(null);
      this.setTable([], []);
      this.setSql(null);
    }
    this.setOptions(doc.kind === 'clarification' ? doc.options : []);
    this.setSuggestions(doc.suggestions);
    this.setNotes(doc.notes);
    this.renderActions(doc);
  }

  fail(err, retry) {
    this.status.remove();
    this.kind = 'error';
    this.article.dataset.kind = 'error';
    const message = (err && err.message) || 'Something went wrong.';
    const code = err && err.code && err.code !== 'network' ? err.code : '';
    const box = h('div', { class: 'error-box' },
      icon('alert', 20),
      h('div', { class: 'error-body' },
        h('p', { class: 'error-title', text: 'This question could not be answered' }),
        h('p', { class: 'error-message', 'data-testid': 'error-message', text: message }),
        code ? h('p', { class: 'error-code muted', text: `Code: ${code}` }) : null,
        retry ? h('button', { type: 'button', class: 'button small secondary', text: 'Try again', onclick: retry }) : null));
    // Keep whatever had arrived (say the table) but put the error first.
    this.article.prepend(box);
    this.actions.hidden = true;
  }
}

// ---------------------------------------------------------------------------
// Asking

function setBusy(busy) {
  state.busy = busy;
  els.messages.setAttribute('aria-busy', String(busy));
  els.composer.classList.toggle('busy', busy);
  updateSend();
}

function updateSend() {
  els.send.disabled = state.busy || els.input.value.trim() === '';
  els.send.setAttribute('aria-label', state.busy ? 'Send (waiting for the answer)' : 'Send');
}

function showEmptyState(show) {
  els.empty.hidden = !show;
  els.app.classList.toggle('is-empty', show);
}

function setConversationId(id, { push = false } = {}) {
  state.conversationId = id;
  const hash = id ? `#/c/${encodeURIComponent(id)}` : '';
  if (location.hash !== hash) {
    const url = `${location.pathname}${location.search}${hash}`;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }
  markActiveConversation();
}

async function ask(text, { display } = {}) {
  const question = String(text || '').trim();
  if (!question || state.busy) return;
  closeSidebar(false);
  showEmptyState(false);
  for (const t of turnsOnScreen) t.disableOptions();

  // A clicked suggestion or option may be disabled next: keep focus usable.
  if (els.messages.contains(document.activeElement) && !narrow.matches) els.input.focus();

  const turn = new Turn(display || question);
  turnsOnScreen.push(turn);
  els.messages.append(turn.root);
  state.followTurn = turn;
  state.stick = true;
  follow();

  const controller = new AbortController();
  state.abort = controller;
  setBusy(true);
  const body = { question };
  if (state.conversationId) body.conversation_id = state.conversationId;
  const retry = () => { turn.root.remove(); turnsOnScreen.splice(turnsOnScreen.indexOf(turn), 1); ask(question, { display }); };

  const on = (fn) => (data) => { if (state.abort === controller) { fn(data); follow(); } };
  try {
    await streamChat(body, {
      conversation: on((d) => {
        turn.setIds(d);
        if (d?.conversation_id && d.conversation_id !== state.conversationId) {
          setConversationId(d.conversation_id);
        }
      }),
      interpretation: on((d) => { turn.setKind(d.kind); turn.setInterpretation(d.interpretation); }),
      sql: on((d) => turn.setSql(d.sql)),
      table: on((d) => turn.setTable(d.columns, d.rows)),
      chart: on((d) => turn.setChart(d)),
      narrative: on((d) => turn.appendNarrative(d.delta)),
      options: on((d) => turn.setOptions(d.options)),
      suggestions: on((d) => turn.setSuggestions(d.suggestions)),
      done: on((doc) => {
        turn.finish(doc);
        if (doc.conversation_id && doc.conversation_id !== state.conversationId) setConversationId(doc.conversation_id);
      }),
      error: on((e) => turn.fail(new ApiError(e?.message || 'The server could not answer.', { code: e?.code, type: e?.type }), retry)),
    }, controller.signal);
  } catch (err) {
    if (err.name !== 'AbortError' && state.abort === controller) turn.fail(err, retry);
  } finally {
    if (state.abort === controller) {
      state.abort = null;
      setBusy(false);
      follow();
      loadConversations();
    }
  }
}

/** Cancel the answer being streamed (the server still stores it). */
function abortStream() {
  if (state.abort) {
    state.abort.abort();
    state.abort = null;
    setBusy(false);
  }
}

// Scrolling: follow the streaming answer while the reader is at the bottom,
// but never scroll its question out of the top of the view.
function follow() {
  if (!state.stick) return;
  const s = els.scroller;
  const bottom = s.scrollHeight - s.clientHeight;
  let target = bottom;
  const turn = state.followTurn;
  if (turn && turn.root.isConnected) target = Math.min(bottom, Math.max(0, turn.root.offsetTop - 12));
  if (target > s.scrollTop) {
    s.scrollTop = target;
    lastAutoScroll = s.scrollTop;
  }
}

let lastAutoScroll = -1;
els.scroller.addEventListener('scroll', () => {
  const s = els.scroller;
  if (Math.abs(s.scrollTop - lastAutoScroll) < 2) return; // our own scroll
  lastAutoScroll = -1;
  const distance = s.scrollHeight - s.clientHeight - s.scrollTop;
  const turn = state.followTurn;
  const atTurnTop = turn && turn.root.isConnected && Math.abs(s.scrollTop - (turn.root.offsetTop - 12)) < 4;
  state.stick = distance < STICK_DISTANCE || Boolean(atTurnTop);
}, { passive: true });

// Charts draw after their data arrives and change the height: keep following.
if ('ResizeObserver' in window) new ResizeObserver(() => follow()).observe(els.messages);

// ---------------------------------------------------------------------------
// Conversations

let turnsOnScreen = [];

function clearChat() {
  abortStream();
  finalizeViews();
  turnsOnScreen = [];
  state.followTurn = null;
  els.messages.replaceChildren();
}

function newChat({ focus = true } = {}) {
  clearChat();
  setConversationId(null, { push: Boolean(location.hash) });
  showEmptyState(true);
  document.title = 'Quarry';
  closeSidebar(false);
  if (focus) els.input.focus();
}

async function openConversation(id, { focus = false } = {}) {
  clearChat();
  showEmptyState(false);
  setConversationId(id);
  const loading = h('p', { class: 'loading muted', role: 'status', text: 'Loading the conversation…' });
  els.messages.append(loading);
  let conv;
  try {
    conv = await getJSON(`/api/conversations/${encodeURIComponent(id)}`);
  } catch (err) {
    if (state.conversationId !== id) return;
    loading.remove();
    if (err.status === 404) {
      notify('That conversation no longer exists.', { error: true });
      newChat({ focus: false });
      loadConversations();
    } else {
      const t = new Turn('Opening the conversation');
      els.messages.append(t.root);
      t.question.hidden = true;
      t.fail(err, () => openConversation(id));
    }
    return;
  }
  if (state.conversationId !== id) return; // another one was opened meanwhile
  loading.remove();
  const turns = Array.isArray(conv.turns) ? conv.turns : [];
  let previous = null;
  for (const stored of turns) {
    const doc = stored.response || {};
    let shown = stored.question ?? doc.question ?? '';
    // An answer to a clarification is its option number; show the option.
    const n = /^\s*(\d+)\s*$/.exec(shown);
    if (n && previous?.kind === 'clarification') {
      const label = previous.optionLabels?.[Number(n[1]) - 1];
      if (label) shown = label;
    }
    const turn = new Turn(shown);
    els.messages.append(turn.root);
    turnsOnScreen.push(turn);
    turn.finish({ ...doc, kind: doc.kind || stored.kind }, { conversation_id: conv.id || id, turn: stored.seq });
    if (previous) previous.disableOptions();
    previous = turn;
  }
  if (turns.length === 0) showEmptyState(true);
  document.title = conv.title ? `${conv.title} · Quarry` : 'Quarry';
  const last = turnsOnScreen[turnsOnScreen.length - 1];
  state.followTurn = null;
  state.stick = false;
  if (last) els.scroller.scrollTop = Math.max(0, last.root.offsetTop - 12);
  if (focus) els.input.focus();
}

async function loadConversations() {
  try {
    const data = await getJSON('/api/conversations');
    state.conversations = Array.isArray(data?.conversations) ? data.conversations : [];
    renderConversations();
  } catch (err) {
    els.list.replaceChildren(h('li', { class: 'list-error' },
      h('p', { text: `Conversations could not be loaded: ${err.message}` }),
      h('button', { type: 'button', class: 'link-button', text: 'Retry', onclick: loadConversations })));
    els.listEmpty.hidden = true;
  }
}

function renderConversations() {
  const items = state.conversations.map((c) => {
    const title = c.title || 'Untitled conversation';
    const turns = Number(c.turns) || 0;
    const when = relativeTime(c.updated_at || c.created_at);
    const meta = [turns === 1 ? '1 question' : `${turns} questions`, when].filter(Boolean).join(' · ');
    const open = h('button', { type: 'button', class: 'conversation-open', title },
      h('span', { class: 'conversation-title', text: title }),
      h('span', { class: 'conversation-meta', text: meta }));
    open.addEventListener('click', () => {
      closeSidebar(false);
      setConversationId(c.id, { push: true });
      openConversation(c.id, { focus: !narrow.matches });
    });
    const del = h('button', { type: 'button', class: 'icon-button conversation-delete', 'data-testid': 'delete-conversation', 'aria-label': `Delete conversation: ${title}`, title: 'Delete' }, icon('trash', 16));
    let armed = false;
    let disarm = null;
    del.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        del.classList.add('armed');
        del.replaceChildren('Delete?');
        del.setAttribute('aria-label', `Confirm: delete conversation ${title}`);
        disarm = setTimeout(reset, 4000);
        return;
      }
      clearTimeout(disarm);
      del.disabled = true;
      try {
        await request('DELETE', `/api/conversations/${encodeURIComponent(c.id)}`);
        if (state.conversationId === c.id) newChat({ focus: false });
        state.conversations = state.conversations.filter((x) => x.id !== c.id);
        const li = del.closest('li');
        const nextFocus = li?.nextElementSibling?.querySelector('.conversation-open')
          || li?.previousElementSibling?.querySelector('.conversation-open') || els.newChat;
        renderConversations();
        (nextFocus.isConnected ? nextFocus : els.newChat).focus();
      } catch (err) {
        del.disabled = false;
        reset();
        notify(`The conversation was not deleted: ${err.message}`, { error: true });
      }
    });
    function reset() {
      armed = false;
      del.classList.remove('armed');
      del.replaceChildren(icon('trash', 16));
      del.setAttribute('aria-label', `Delete conversation: ${title}`);
    }
    del.addEventListener('blur', () => { if (armed && !del.disabled) { clearTimeout(disarm); reset(); } });
    return h('li', { class: 'conversation-item', 'data-testid': 'conversation-item', 'data-id': c.id }, open, del);
  });
  els.list.replaceChildren(...items);
  els.listEmpty.hidden = items.length > 0;
  markActiveConversation();
}

function markActiveConversation() {
  for (const li of els.list.querySelectorAll('.conversation-item')) {
    const active = li.dataset.id === state.conversationId;
    li.classList.toggle('active', active);
    const open = li.querySelector('.conversation-open');
    if (active) open.setAttribute('aria-current', 'page');
    else open.removeAttribute('aria-current');
  }
}

// ---------------------------------------------------------------------------
// Catalog (empty state)

function listWords(words, max = 8) {
  const shown = words.slice(0, max);
  const extra = words.length - shown.length;
  if (extra > 0) return `${shown.join(', ')} and ${extra} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

async function loadCatalog() {
  try {
    const catalog = await getJSON('/api/catalog');
    state.catalog = catalog;
    const metrics = (catalog.metrics || []).map((m) => m.label || m.name).filter(Boolean);
    const dims = (catalog.dimensions || []).map((d) => (d.label || d.name || '').toLowerCase()).filter(Boolean);
    if (metrics.length) {
      els.emptyMetrics.replaceChildren(
        'You can ask about ', h('strong', { text: listWords(metrics) }),
        dims.length ? `, by ${listWords(dims, 6)}` : '',
        ', for any period, and compare periods.');
      els.emptyMetrics.title = (catalog.metrics || []).map((m) => `${m.label || m.name}: ${m.description || ''}`).join('\n');
    }
    const questions = (catalog.sample_questions || []).filter((q) => typeof q === 'string' && q.trim());
    els.samples.replaceChildren(...questions.map((q) => h('button', {
      type: 'button', class: 'sample', 'data-testid': 'sample-question', onclick: () => ask(q),
    }, icon('spark', 16), h('span', { text: q }))));
    els.samples.closest('.empty-state').classList.toggle('no-samples', questions.length === 0);
  } catch (err) {
    els.samples.replaceChildren(h('p', { class: 'muted', text: `Examples could not be loaded: ${err.message}` }));
  }
}

// ---------------------------------------------------------------------------
// Sidebar on small screens

const narrow = window.matchMedia('(max-width: 760px)');

function openSidebar() {
  els.app.classList.add('sidebar-open');
  els.menuToggle.setAttribute('aria-expanded', 'true');
  els.backdrop.hidden = false;
  els.sidebar.removeAttribute('inert');
  (els.sidebar.querySelector('[aria-current="page"]') || els.newChat).focus();
}

function closeSidebar(refocus = true) {
  if (!els.app.classList.contains('sidebar-open')) return;
  els.app.classList.remove('sidebar-open');
  els.menuToggle.setAttribute('aria-expanded', 'false');
  els.backdrop.hidden = true;
  syncSidebarInert();
  if (refocus) els.menuToggle.focus();
}

function syncSidebarInert() {
  if (narrow.matches && !els.app.classList.contains('sidebar-open')) els.sidebar.setAttribute('inert', '');
  else els.sidebar.removeAttribute('inert');
}

els.menuToggle.addEventListener('click', () => {
  if (els.app.classList.contains('sidebar-open')) closeSidebar();
  else openSidebar();
});
els.sidebarClose.addEventListener('click', () => closeSidebar());
els.backdrop.addEventListener('click', () => closeSidebar());
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && els.app.classList.contains('sidebar-open')) closeSidebar();
});
const PLACEHOLDER = els.input.getAttribute('placeholder');
function syncNarrow() {
  syncSidebarInert();
  els.input.setAttribute('placeholder', narrow.matches ? 'Ask a question' : PLACEHOLDER);
}
narrow.addEventListener('change', () => {
  if (!narrow.matches) closeSidebar(false);
  syncNarrow();
});
syncNarrow();

// ---------------------------------------------------------------------------
// Composer

function autosize() {
  els.input.style.height = 'auto';
  els.input.style.height = `${Math.min(els.input.scrollHeight, 200)}px`;
}

els.input.addEventListener('input', () => { autosize(); updateSend(); });
els.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    els.composer.requestSubmit();
  }
});
els.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = els.input.value.trim();
  if (!text || state.busy) return;
  els.input.value = '';
  autosize();
  updateSend();
  ask(text);
});

els.newChat.addEventListener('click', () => newChat());
els.newChatCompact.addEventListener('click', () => newChat());

// ---------------------------------------------------------------------------
// Routing: #/c/<id> is the open conversation

function idFromHash() {
  const m = /^#\/c\/(.+)$/.exec(location.hash);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch { return null; }
}

window.addEventListener('popstate', () => {
  const id = idFromHash();
  if (id === state.conversationId) return;
  if (id) openConversation(id);
  else newChat({ focus: false });
});

function start() {
  updateSend();
  const id = idFromHash();
  if (id) openConversation(id);
  else showEmptyState(true);
  loadCatalog();
  loadConversations();
  if (!narrow.matches) els.input.focus();
}

start();
