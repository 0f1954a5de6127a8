/*
 * Shopassist admin page: sign in (admin role), FAQ list/search/edit/history/restore, bulk import with a
 * dry-run preview, export, and the dashboard (charts drawn as inline SVG from GET /api/admin/stats).
 * Plain ES, no build step, no CDN. Everything that comes from users or the store is set as text, never HTML.
 */
(() => {
  'use strict';

  const API = '/api/admin';
  const TOKEN_KEY = 'shopassist-admin-token';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PAGE = 25;
  const SEARCH_DELAY_MS = 250;
  const JOB_POLL_MS = 1000;
  const COLORS = { shopper: '#2357d9', bot: '#15a37a', agent: '#d9822b', handoff: '#d64545', contained: '#15a37a' };

  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem(TOKEN_KEY), labels: [], offset: 0, total: 0, current: null,
    importFile: null, searchTimer: null };

  // ---- small DOM helpers ----
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'text') node.textContent = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function svg(tag, attrs = {}, text = null) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== null) node.textContent = text;
    return node;
  }

  const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
  const ms = (x) => (x === null || x === undefined ? '–' : `${Math.round(x)} ms`);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  // ---- HTTP ----
  class ApiError extends Error {
    constructor(status, detail) {
      super(typeof detail === 'string' ? detail : (detail && detail.error) || `HTTP ${status}`);
      this.status = status;
      this.problems = (detail && detail.problems) || [];
      // a 422 names each problem in a list of {loc, msg}
      this.detailList = Array.isArray(detail) ? detail : null;
    }
  }

  async function api(method, path, body = undefined, contentType = 'application/json') {
    const headers = { Authorization: `Bearer ${state.token}` };
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      payload = contentType === 'application/json' ? JSON.stringify(body) : body;
    }
    const resp = await fetch(path, { method, headers, body: payload });
    if (resp.status === 401) { signOut('Your session ended; sign in again.'); throw new ApiError(401, 'signed out'); }
    if (!resp.ok) {
      let detail = `HTTP ${resp.status}`;
      try { detail = (await resp.json()).detail; } catch (_) { /* not JSON */ }
      throw new ApiError(resp.status, detail);
    }
    if (resp.status === 204) return null;
    const type = resp.headers.get('content-type') || '';
    return type.includes('json') && !path.includes('/export') ? resp.json() : resp.text();
  }

  // ---- sign in ----
  async function signIn(event) {
    event.preventDefault();
    const error = $('login-error');
    error.hidden = true;
    try {
      const resp = await fetch('/api/agent/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: $('login-email').value, password: $('login-password').value }),
      });
      const body = await resp.json();
      if (!resp.ok) throw new Error(body.detail || 'sign-in failed');
      if (body.role !== 'admin') throw new Error('this account is not an admin');
      state.token = body.token;
      sessionStorage.setItem(TOKEN_KEY, body.token);
      $('me').textContent = body.name;
      await start();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  function signOut(message = '') {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $('app').hidden = true;
    $('login').hidden = false;
    const error = $('login-error');
    error.textContent = message;
    error.hidden = !message;
  }

  async function start() {
    const me = await fetch('/api/agent/me', { headers: { Authorization: `Bearer ${state.token}` } });
    if (!me.ok) { signOut(); return; }
    const who = await me.json();
    if (who.role !== 'admin') { signOut('this account is not an admin'); return; }
    $('me').textContent = who.name;
    $('login').hidden = true;
    $('app').hidden = false;
    state.labels = (await api('GET', `${API}/intents`)).labels;
    await Promise.all([loadFaq(), loadChanges()]);
  }

  // ---- tabs ----
  function showTab(name) {
    for (const button of document.querySelectorAll('#tabs [role=tab]')) {
      button.setAttribute('aria-selected', String(button.dataset.tab === name));
    }
    for (const tab of ['faq', 'import', 'dashboard', 'learning', 'privacy', 'ab']) $(`tab-${tab}`).hidden = tab !== name;
    if (name === 'dashboard') loadStats();
    if (name === 'learning') loadLearning();
    if (name === 'privacy') loadAudit();
    if (name === 'ab') loadAbTests();
  }

  // ---- FAQ list ----
  async function loadFaq() {
    const q = $('faq-search').value.trim();
    const params = new URLSearchParams({ q, limit: String(PAGE), offset: String(state.offset) });
    const page = await api('GET', `${API}/faq?${params}`);
    state.total = page.total;
    const rows = $('faq-rows');
    rows.replaceChildren(...page.entries.map((entry) => el('tr', {
      className: `faq-row${state.current && state.current.id === entry.id ? ' selected' : ''}`,
      dataset: { id: String(entry.id) }, tabIndex: 0,
      onclick: () => openEntry(entry.id),
      onkeydown: (e) => { if (e.key === 'Enter') openEntry(entry.id); },
    }, [
      el('td', { text: String(entry.id) }),
      el('td', { className: 'question', text: entry.question }),
      el('td', { className: 'tags', text: entry.intents.join(', ') }),
      el('td', { className: 'muted', text: when(entry.updated_at) }),
    ])));
    const last = Math.min(state.offset + page.entries.length, page.total);
    $('faq-count').textContent = page.total
      ? `${state.offset + 1}–${last} of ${page.total} entries${q ? ` matching “${q}”` : ''}` : 'No entries match.';
    $('faq-prev').disabled = state.offset === 0;
    $('faq-next').disabled = last >= page.total;
  }

  function searchSoon() {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(() => { state.offset = 0; loadFaq(); }, SEARCH_DELAY_MS);
  }

  async function loadChanges() {
    const changes = await api('GET', `${API}/faq/changes?limit=10`);
    $('changes').replaceChildren(...changes.map((rev) => el('li', {}, [
      el('span', { className: `action action-${rev.action}`, text: rev.action }),
      el('button', { type: 'button', className: 'link', text: `#${rev.faq_id}`, onclick: () => openEntry(rev.faq_id) }),
      el('span', { className: 'snippet', text: (rev.after || rev.before || {}).question || '' }),
      el('span', { className: 'muted', text: when(rev.at) }),
    ])));
  }

  // ---- FAQ editor ----
  function intentBoxes(selected) {
    const chosen = new Set(selected);
    const ordered = [...selected, ...state.labels.filter((label) => !chosen.has(label))]; // the entry's tags first
    $('faq-intents').replaceChildren(...ordered.map((label) => el('label', { className: 'intent', dataset: { label } }, [
      el('input', { type: 'checkbox', value: label, checked: chosen.has(label) }),
      document.createTextNode(label),
    ])));
    filterIntents();
  }

  function filterIntents() {
    const q = $('faq-intent-filter').value.trim().toLowerCase();
    for (const node of $('faq-intents').children) node.hidden = Boolean(q) && !node.dataset.label.includes(q);
  }

  function fillForm(entry) {
    state.current = entry;
    $('faq-empty').hidden = true;
    $('faq-form').hidden = false;
    $('faq-title').textContent = entry.id ? `Entry #${entry.id}` : 'New entry';
    $('faq-question').value = entry.question;
    $('faq-answer').value = entry.answer;
    $('faq-intent-filter').value = '';
    intentBoxes(entry.intents);
    $('faq-delete').hidden = !entry.id || entry.deleted;
    $('faq-problems').replaceChildren();
    for (const row of document.querySelectorAll('.faq-row')) {
      row.classList.toggle('selected', Number(row.dataset.id) === entry.id);
    }
  }

  async function openEntry(id) {
    setStatus('');
    let entry;
    try {
      entry = await api('GET', `${API}/faq/${id}`);
    } catch (err) {
      if (err.status !== 404) { setStatus(err.message, true); return; }
      entry = { id, question: '', answer: '', intents: [], deleted: true }; // deleted: its history can restore it
    }
    fillForm(entry);
    if (entry.deleted) setStatus('This entry is deleted; restore a version from its history.', true);
    await loadHistory(id);
  }

  function newEntry() {
    setStatus('');
    fillForm({ id: null, question: '', answer: '', intents: [] });
    $('faq-history').replaceChildren();
    $('faq-question').focus();
  }

  function setStatus(text, isError = false) {
    const status = $('faq-status');
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  function showProblems(target, problems) {
    target.replaceChildren(...problems.map((p) => el('li', {
      text: `${p.line ? `line ${p.line}: ` : ''}${p.field ? `${p.field}: ` : ''}${p.error}`,
    })));
  }

  async function saveEntry(event) {
    event.preventDefault();
    const body = {
      question: $('faq-question').value,
      answer: $('faq-answer').value,
      intents: [...$('faq-intents').querySelectorAll('input:checked')].map((box) => box.value),
    };
    const current = state.current;
    $('faq-save').disabled = true;
    setStatus('Saving…');
    try {
      const saved = current.id && !current.deleted
        ? await api('PUT', `${API}/faq/${current.id}`, body)
        : await api('POST', `${API}/faq`, body);
      fillForm(saved);
      setStatus('Saved — the assistant answers with it now.');
      await Promise.all([loadFaq(), loadChanges(), loadHistory(saved.id)]);
    } catch (err) {
      setStatus(err.message, true);
      showProblems($('faq-problems'), err.problems);
    } finally {
      $('faq-save').disabled = false;
    }
  }

  async function deleteEntry() {
    const current = state.current;
    if (!current || !current.id || !window.confirm(`Delete entry #${current.id}? Its history can restore it.`)) return;
    try {
      await api('DELETE', `${API}/faq/${current.id}`);
      fillForm({ ...current, deleted: true });
      setStatus('Deleted. Restore it from the history below if needed.');
      await Promise.all([loadFaq(), loadChanges(), loadHistory(current.id)]);
    } catch (err) {
      setStatus(err.message, true);
    }
  }

  async function loadHistory(id) {
    let revisions = [];
    try { revisions = await api('GET', `${API}/faq/${id}/revisions`); } catch (_) { /* a new entry */ }
    const versions = revisions.map((rev) => ({ rev, to: 'after', label: rev.action, version: rev.after || rev.before }));
    const oldest = revisions[revisions.length - 1];
    if (oldest && oldest.before) { // the entry existed before its history starts (e.g. the shop's seed FAQ)
      versions.push({ rev: oldest, to: 'before', label: 'original', version: oldest.before });
    }
    $('faq-history').replaceChildren(...versions.map(({ rev, to, label, version }) => el('li', {
      className: 'revision', dataset: { revision: String(rev.id), to },
    }, [
      el('div', { className: 'revision-head' }, [
        el('span', { className: `action action-${label}`, text: label }),
        el('span', { className: 'muted', text: to === 'after'
          ? `${when(rev.at)} · agent #${rev.agent_id ?? 'cli'}` : `before ${when(rev.at)}` }),
        el('button', { type: 'button', className: 'small restore', text: 'Restore this version',
          onclick: () => restore(id, rev.id, to) }),
      ]),
      el('p', { className: 'snippet', text: (version || {}).answer || '' }),
    ])));
  }

  async function restore(id, revisionId, to = 'after') {
    try {
      const entry = await api('POST', `${API}/faq/${id}/restore/${revisionId}?to=${to}`);
      fillForm(entry);
      setStatus(`Restored from revision ${revisionId}.`);
      await Promise.all([loadFaq(), loadChanges(), loadHistory(id)]);
    } catch (err) {
      setStatus(err.message, true);
    }
  }

  // ---- import / export ----
  function importFormat(file) {
    return file.name.toLowerCase().endsWith('.csv') ? 'csv' : 'json';
  }

  async function runImport(dryRun) {
    const file = $('import-file').files[0];
    const summary = $('import-summary');
    const details = $('import-details');
    details.replaceChildren();
    if (!file) { summary.textContent = 'Choose a file first.'; return; }
    const format = importFormat(file);
    const params = new URLSearchParams({ format, mode: $('import-mode').value, dry_run: String(dryRun) });
    summary.classList.remove('error');
    summary.textContent = dryRun ? 'Checking…' : 'Importing…';
    try {
      const report = await api('POST', `${API}/faq/import?${params}`, await file.text(),
        format === 'csv' ? 'text/csv' : 'application/json');
      const c = report.counts;
      summary.textContent = `${report.applied ? 'Imported' : 'Would change'}: ${c.added} added, ${c.updated} updated, `
        + `${c.deleted} deleted, ${c.unchanged} unchanged.`;
      details.replaceChildren(
        ...report.added.map((r) => el('li', { className: 'added', text: `+ line ${r.line}: ${r.question}` })),
        ...report.updated.map((r) => el('li', { className: 'updated', text: `~ #${r.id} (line ${r.line}): ${r.after.question}` })),
        ...report.deleted.map((r) => el('li', { className: 'deleted', text: `− #${r.id}: ${r.question}` })),
      );
      $('import-apply').disabled = report.applied;
      if (report.applied) await Promise.all([loadFaq(), loadChanges()]);
    } catch (err) {
      summary.textContent = err.message;
      summary.classList.add('error');
      showProblems(details, err.problems);
      $('import-apply').disabled = true;
    }
  }

  async function download(format) {
    const text = await api('GET', `${API}/faq/export?format=${format}`);
    const blob = new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/json' });
    const link = el('a', { href: URL.createObjectURL(blob), download: `faq.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // ---- dashboard ----
  async function loadStats() {
    const stats = await api('GET', `${API}/stats?hours=${$('stats-hours').value}`);
    $('stats-at').textContent = `as of ${when(stats.now)}`;
    const recs = stats.recommendations;
    $('kpis').replaceChildren(...[
      ['Sessions', String(stats.sessions)],
      ['Handoff rate', pct(stats.handoff_rate)],
      ['Containment', pct(stats.containment)],
      ['Closed without a human', String(stats.closed_without_human)],
      ['Latency p50 / p95', `${ms(stats.latency_ms.p50)} / ${ms(stats.latency_ms.p95)}`],
      ['Click-through', `${pct(recs.click_through)} (${recs.clicked}/${recs.exposures})`],
      ['To review', String(stats.review_count)],
    ].map(([label, value]) => el('div', { className: 'kpi' }, [
      el('span', { className: 'kpi-label', text: label }), el('strong', { className: 'kpi-value', text: value }),
    ])));
    $('chart-hours').replaceChildren(hoursChart(stats.messages_per_hour));
    $('chart-handoff').replaceChildren(barChart([
      { label: 'handed off', value: stats.handoff_rate || 0, color: COLORS.handoff, text: pct(stats.handoff_rate) },
      { label: 'contained', value: stats.containment || 0, color: COLORS.contained, text: pct(stats.containment) },
    ], 1));
    const latency = [['p50', stats.latency_ms.p50], ['p95', stats.latency_ms.p95]];
    $('chart-latency').replaceChildren(barChart(latency.map(([label, value]) => ({
      label, value: value || 0, color: COLORS.bot, text: ms(value),
    }))));
    $('chart-ctr').replaceChildren(barChart([
      { label: 'cards shown', value: recs.exposures, color: COLORS.shopper, text: String(recs.exposures) },
      { label: 'clicked', value: recs.clicked, color: COLORS.agent, text: `${recs.clicked} (${pct(recs.click_through)})` },
    ]));
    $('chart-intents').replaceChildren(barChart(Object.entries(stats.intents).map(([label, value]) => ({
      label, value, color: COLORS.shopper, text: String(value),
    }))));
    $('chart-mood').replaceChildren(barChart((stats.mood_per_hour || [])
      .filter((h) => h.frustrated || h.angry)
      .map((h) => ({ label: when(h.hour), value: h.frustrated + h.angry, color: COLORS.handoff,
        text: `${h.frustrated} frustrated, ${h.angry} angry` }))));
    const helpful = stats.helpfulness || { per_intent: {}, per_faq: {} };
    const helpfulRows = (table, prefix) => Object.entries(table).map(([label, v]) => ({
      label: `${prefix}${label}`, value: v.helpful, color: v.helpful >= 0.5 ? COLORS.contained : COLORS.handoff,
      text: `${pct(v.helpful)} (${v.up} up, ${v.down} down)`,
    }));
    $('chart-helpful-intents').replaceChildren(barChart(helpfulRows(helpful.per_intent, ''), 1));
    $('chart-helpful-faq').replaceChildren(barChart(helpfulRows(helpful.per_faq, 'FAQ #'), 1));
    const ratings = stats.ratings || { counts: {} };
    $('chart-ratings').replaceChildren(barChart([1, 2, 3, 4, 5].map((n) => ({
      label: `${n} star${n > 1 ? 's' : ''}`, value: ratings.counts[n] || 0, color: COLORS.agent,
      text: String(ratings.counts[n] || 0),
    }))));
    $('review-rows').replaceChildren(...stats.review.map((turn) => el('tr', {}, [
      el('td', { className: 'muted', text: when(turn.at) }),
      el('td', { text: turn.question || '' }),
      el('td', { text: turn.reply }),
      el('td', { text: turn.intent || '' }),
      el('td', { text: turn.confidence === null || turn.confidence === undefined ? '' : turn.confidence.toFixed(2) }),
      el('td', { text: turn.route || '' }),
    ])));
  }

  // ---- learning: suggested entries and unhelpful ones ----
  async function loadLearning() {
    const [suggested, unhelpful] = await Promise.all([
      api('GET', `${API}/faq-suggestions`), api('GET', `${API}/faq-unhelpful`)]);
    $('suggestions').replaceChildren(...(suggested.length ? suggested.map(suggestionNode)
      : [el('li', { className: 'muted', text: 'No suggestions waiting.' })]));
    $('unhelpful-rows').replaceChildren(...unhelpful.map((e) => el('tr', { dataset: { faqId: String(e.faq_id) } }, [
      el('td', { text: String(e.faq_id) }),
      el('td', { text: e.question }),
      el('td', { text: String(e.down) }),
      el('td', { text: String(e.up) }),
      el('td', {}, [el('button', { type: 'button', className: 'small', text: 'Edit',
        onclick: () => { showTab('faq'); openEntry(e.faq_id); } })]),
    ])));
  }

  function suggestionNode(s) {
    const question = el('textarea', { rows: '2', 'aria-label': 'Question' });
    question.value = s.question;
    const answer = el('textarea', { rows: '4', 'aria-label': 'Answer' });
    answer.value = s.answer;
    const intent = el('select', { className: 'intent', 'aria-label': 'Intent tag' },
      state.labels.map((label) => el('option', { value: label, text: label })));
    intent.value = s.intent || 'contact_customer_service';
    const status = el('span', { className: 'status', role: 'status' });
    const decide = async (path, body) => {
      try {
        await api('POST', `${API}/faq-suggestions/${s.id}/${path}`, body);
        node.remove();
        setStatus(path === 'accept' ? 'Suggestion accepted: the entry answers from now on.' : 'Suggestion rejected.');
      } catch (err) {
        status.textContent = String(err.message || err);
      }
    };
    const node = el('li', { className: 'suggestion', dataset: { suggestionId: String(s.id) } }, [
      el('label', { text: 'Question' }, [question]),
      el('label', { text: 'Answer' }, [answer]),
      el('label', { text: 'Intent' }, [intent]),
      el('div', { className: 'actions' }, [
        el('button', { type: 'button', className: 'primary accept', text: 'Accept',
          onclick: () => decide('accept', { question: question.value, answer: answer.value,
            intents: [intent.value] }) }),
        el('button', { type: 'button', className: 'reject', text: 'Reject', onclick: () => decide('reject') }),
        status,
      ]),
    ]);
    return node;
  }

  // ---- retraining ----
  async function startRetraining() {
    $('retrain-start').disabled = true;
    try {
      const job = await api('POST', `${API}/retrain-intents`, {});
      await followJob(job.id);
    } catch (err) {
      $('retrain-status').textContent = err.message;
    } finally {
      $('retrain-start').disabled = false;
    }
  }

  async function followJob(id) {
    const bar = $('retrain-progress');
    bar.hidden = false;
    for (;;) {
      const job = await api('GET', `${API}/jobs/${id}`);
      const detail = job.detail || {};
      bar.value = job.progress;
      $('retrain-status').textContent = job.status === 'queued' || job.status === 'running'
        ? `${job.status}: ${detail.phase || ''} ${detail.steps ? `(${detail.step}/${detail.steps})` : ''}`
        : `${job.status}: ${detail.decision || detail.error || ''}${detail.candidate
          ? ` (dev accuracy ${pct(detail.current.accuracy)} → ${pct(detail.candidate.accuracy)})` : ''}`;
      if (job.status !== 'queued' && job.status !== 'running') return;
      await new Promise((resolve) => { setTimeout(resolve, JOB_POLL_MS); });
    }
  }

  /* Stacked columns of shopper / bot / agent messages per hour. */
  function hoursChart(hours) {
    const width = 720; const height = 200; const pad = { left: 36, right: 8, top: 10, bottom: 28 };
    const totals = hours.map((h) => h.shopper + h.bot + h.agent);
    const top = Math.max(1, ...totals);
    const step = (width - pad.left - pad.right) / Math.max(1, hours.length);
    const scale = (height - pad.top - pad.bottom) / top;
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'svg-chart',
      'aria-label': `messages per hour, at most ${top}` });
    root.append(svg('line', { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom,
      class: 'axis' }));
    root.append(svg('text', { x: pad.left - 6, y: pad.top + 8, 'text-anchor': 'end', class: 'tick' }, String(top)));
    root.append(svg('text', { x: pad.left - 6, y: height - pad.bottom, 'text-anchor': 'end', class: 'tick' }, '0'));
    hours.forEach((h, i) => {
      let y = height - pad.bottom;
      for (const author of ['shopper', 'bot', 'agent']) {
        const barHeight = h[author] * scale;
        if (barHeight > 0) {
          y -= barHeight;
          const bar = svg('rect', { x: pad.left + i * step + 1, y, width: Math.max(1, step - 2), height: barHeight,
            fill: COLORS[author], class: `bar bar-${author}` });
          bar.append(svg('title', {}, `${new Date(h.hour).toLocaleString()}: ${h[author]} ${author}`));
          root.append(bar);
        }
      }
      if (i % Math.ceil(hours.length / 8) === 0) {
        root.append(svg('text', { x: pad.left + i * step + step / 2, y: height - 8, 'text-anchor': 'middle',
          class: 'tick' }, `${new Date(h.hour).getHours()}h`));
      }
    });
    const legend = svg('g', { class: 'legend' });
    ['shopper', 'bot', 'agent'].forEach((author, i) => {
      legend.append(svg('rect', { x: width - 230 + i * 75, y: 2, width: 10, height: 10, fill: COLORS[author] }));
      legend.append(svg('text', { x: width - 216 + i * 75, y: 11, class: 'tick' }, author));
    });
    root.append(legend);
    return root;
  }

  /* Horizontal bars with labels and values (rows: {label, value, color, text}). */
  function barChart(rows, maximum = null) {
    const width = 360; const rowHeight = 24; const labelWidth = 150;
    const height = Math.max(rowHeight, rows.length * rowHeight) + 4;
    const top = maximum || Math.max(1e-9, ...rows.map((r) => r.value));
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'svg-chart' });
    if (!rows.length) {
      root.append(svg('text', { x: 4, y: 16, class: 'tick' }, 'no data in this window'));
      return root;
    }
    rows.forEach((row, i) => {
      const y = i * rowHeight + 2;
      const barWidth = Math.max(0, (width - labelWidth - 70) * (row.value / top));
      root.append(svg('text', { x: labelWidth - 6, y: y + 15, 'text-anchor': 'end', class: 'tick' }, row.label));
      root.append(svg('rect', { x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 8, fill: row.color,
        class: 'bar' }));
      root.append(svg('text', { x: labelWidth + barWidth + 4, y: y + 15, class: 'tick value' }, row.text));
    });
    return root;
  }

  // ---- privacy: a customer's data, the audit log ----
  let auditBefore = null;
  async function loadAudit(more = false) {
    const params = new URLSearchParams({ limit: '50' });
    const subject = $('audit-subject').value.trim();
    if (subject) params.set('subject_id', subject);
    if (more && auditBefore) params.set('before_id', String(auditBefore));
    const entries = await api('GET', `${API}/audit?${params}`);
    if (!more) $('audit-rows').replaceChildren();
    for (const e of entries) {
      $('audit-rows').append(el('tr', {}, [
        el('td', { text: new Date(e.at + 'Z').toLocaleString() }), el('td', { text: e.actor_name || String(e.actor_id ?? '') }),
        el('td', { text: e.actor_role }), el('td', { text: e.action.replaceAll('_', ' ') }),
        el('td', { text: `${e.subject_kind} ${e.subject_id}` }),
      ]));
    }
    if (entries.length) auditBefore = entries[entries.length - 1].id;
    $('audit-more').disabled = entries.length < 50;
  }

  async function exportCustomer(event) {
    event.preventDefault();
    const id = $('customer-id').value.trim();
    try {
      const text = await api('GET', `${API}/customers/${encodeURIComponent(id)}/export`); // a download: text
      const data = JSON.parse(text);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const link = el('a', { href: URL.createObjectURL(blob), download: `customer-${id}.json` });
      link.click();
      $('customer-status').textContent = `Exported ${data.sessions.length} sessions, ${data.orders.length} orders.`;
    } catch (error) {
      $('customer-status').textContent = error.message;
    }
    loadAudit();
  }

  async function eraseCustomer() {
    const id = $('customer-id').value.trim();
    if (!id || !window.confirm(`Erase every message, event and record of customer ${id}? This cannot be undone.`)) return;
    try {
      const report = await api('DELETE', `${API}/customers/${encodeURIComponent(id)}/data`);
      $('customer-status').textContent = `Erased: ${report.messages} messages, ${report.events} events, `
        + `${report.sessions} sessions; orders kept as ${report.pseudonym}.`;
    } catch (error) {
      $('customer-status').textContent = error.message;
    }
    loadAudit();
  }

  // ---- A/B tests of recommendation serving settings ----
  const AB_SETTINGS = [
    { key: 'diversity', type: 'number', step: '0.05', min: 0, max: 1 },
    { key: 'candidate_pool', type: 'number', step: '1', min: 1, max: 1000 },
    { key: 'fusion_preset', type: 'select', options: ['', 'fitted', 'more_behaviour', 'more_text', 'more_popular'] },
    { key: 'category_cap', type: 'number', step: '1', min: 0 },
    { key: 'context_weight', type: 'number', step: '0.1', min: 0, max: 10 },
    { key: 'exclude_bought_days', type: 'number', step: '1', min: 0 },
  ];
  const METRICS = [['click_through', 'Click-through'], ['add_to_cart', 'Add to cart'], ['conversion', 'Conversion']];

  function variantRow(name = '', share = '', settings = {}) {
    const cells = [
      el('td', {}, [el('input', { className: 'ab-variant-name', value: name, required: true, maxLength: 20,
        'aria-label': 'Variant name' })]),
      el('td', {}, [el('input', { className: 'ab-share', type: 'number', min: 1, max: 100, step: 'any',
        value: share, required: true, 'aria-label': 'Share in percent' })]),
    ];
    for (const setting of AB_SETTINGS) {
      const value = settings[setting.key] === undefined ? '' : String(settings[setting.key]);
      const input = setting.type === 'select'
        ? el('select', {}, setting.options.map((o) => el('option', { value: o, text: o || 'default' })))
        : el('input', { type: 'number', step: setting.step, min: setting.min, max: setting.max ?? '' });
      input.value = value;
      input.dataset.setting = setting.key;
      input.setAttribute('aria-label', setting.key.replaceAll('_', ' '));
      cells.push(el('td', {}, [input]));
    }
    cells.push(el('td', {}, [el('button', { type: 'button', className: 'small', text: 'Remove',
      onclick: (event) => event.target.closest('tr').remove() })]));
    return el('tr', {}, cells);
  }

  function resetAbForm() {
    $('ab-name').value = '';
    $('ab-variant-rows').replaceChildren(variantRow('A', '50'), variantRow('B', '50', { diversity: 0.3 }));
  }

  function abSpec() {
    const variants = [...$('ab-variant-rows').querySelectorAll('tr')].map((row) => {
      const settings = {};
      for (const input of row.querySelectorAll('[data-setting]')) {
        if (input.value === '') continue;
        settings[input.dataset.setting] = input.tagName === 'SELECT' ? input.value : Number(input.value);
      }
      return { name: row.querySelector('.ab-variant-name').value.trim(),
        share: Number(row.querySelector('.ab-share').value) / 100, settings };
    });
    return { name: $('ab-name').value.trim(), variants };
  }

  function describeProblem(err) {
    if (Array.isArray(err.detailList)) return err.detailList.map((p) => p.msg).join('; ');
    return err.message;
  }

  async function startAbTest(event) {
    event.preventDefault();
    const status = $('ab-status');
    try {
      const started = await api('POST', `${API}/ab-tests`, abSpec());
      status.textContent = `Test ${started.id} started.`;
      status.classList.remove('error');
      resetAbForm();
      await loadAbTests();
    } catch (err) {
      status.textContent = describeProblem(err);
      status.classList.add('error');
    }
  }

  const settingsText = (settings) => Object.entries(settings).map(([k, v]) => `${k.replaceAll('_', ' ')} ${v}`)
    .join(', ') || 'the default settings';

  function rateCell(rate) {
    const verdict = rate.verdict === 'control' ? 'control' : rate.verdict;
    return el('td', { className: `ab-rate ${rate.verdict.replaceAll(' ', '-')}` }, [
      el('strong', { text: pct(rate.value) }),
      el('span', { className: 'muted', text: ` [${pct(rate.low)}, ${pct(rate.high)}] ` }),
      el('span', { className: 'verdict', text: verdict }),
    ]);
  }

  function testReport(test) {
    const settingsOf = Object.fromEntries(test.variants.map((v) => [v.name, v]));
    const rows = test.report.map((row) => el('tr', { dataset: { variant: row.variant } }, [
      el('th', { text: row.variant, title: settingsText(settingsOf[row.variant]?.settings || {}) }),
      el('td', { text: pct(settingsOf[row.variant]?.share) }),
      el('td', { className: 'ab-exposures', text: String(row.exposures) }),
      el('td', { text: String(row.sessions) }),
      ...METRICS.map(([key]) => rateCell(row[key])),
    ]));
    const table = el('table', { className: 'list ab-report' }, [
      el('thead', {}, [el('tr', {}, [el('th', { text: 'Variant' }), el('th', { text: 'Share' }),
        el('th', { text: 'Exposures' }), el('th', { text: 'Sessions' }),
        ...METRICS.map(([, label]) => el('th', { text: `${label} (95 %)` }))])]),
      el('tbody', {}, rows),
    ]);
    const parts = [el('h2', { text: `Test ${test.id}: ${test.name} (${test.status})` }), table,
      el('ul', { className: 'details' }, test.variants.map((v) => el('li', { text: `${v.name}: ${settingsText(v.settings)}` })))];
    if (test.status === 'running') {
      const winner = el('select', { id: 'ab-winner', 'aria-label': 'Winner' }, [
        el('option', { value: '', text: 'no winner (keep the default)' }),
        ...test.variants.map((v) => el('option', { value: v.name, text: v.name }))]);
      parts.push(el('div', { className: 'toolbar' }, [
        el('label', { text: 'Winner ' }, [winner]),
        el('button', { id: 'ab-stop', type: 'button', className: 'danger', text: 'Stop the test',
          onclick: () => stopAbTest(test.id, winner.value || null) }),
        el('button', { type: 'button', text: 'Refresh', onclick: loadAbTests }),
      ]));
    } else if (test.winner) {
      parts.push(el('p', { className: 'muted', text: `Winner: ${test.winner} (now the default).` }));
    }
    return el('div', { id: test.status === 'running' ? 'ab-running' : 'ab-latest', className: 'card' }, parts);
  }

  async function stopAbTest(id, winner) {
    try {
      await api('POST', `${API}/ab-tests/${id}/stop`, { winner });
      $('ab-status').textContent = winner ? `Test ${id} stopped; ${winner} is now the default.` : `Test ${id} stopped.`;
    } catch (err) {
      $('ab-status').textContent = describeProblem(err);
    }
    await loadAbTests();
  }

  async function loadAbTests() {
    const listing = await api('GET', `${API}/ab-tests`);
    $('ab-default').textContent = settingsText(listing.default_settings);
    const shown = listing.tests.find((t) => t.status === 'running') || listing.tests[0];
    $('ab-current').replaceChildren(...(shown ? [testReport(await api('GET', `${API}/ab-tests/${shown.id}`))] : []));
    $('ab-tests').replaceChildren(...listing.tests.map((t) => el('li', {
      text: `#${t.id} ${t.name}: ${t.status}${t.winner ? `, winner ${t.winner}` : ''} (${when(t.started_at)})` })));
    if (!$('ab-variant-rows').children.length) resetAbForm();
  }

  // ---- wiring ----
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', async () => {
    try { await fetch('/api/agent/logout', { method: 'POST', headers: { Authorization: `Bearer ${state.token}` } }); } finally { signOut(); }
  });
  for (const button of document.querySelectorAll('#tabs [role=tab]')) {
    button.addEventListener('click', () => showTab(button.dataset.tab));
  }
  $('faq-search').addEventListener('input', searchSoon);
  $('faq-prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); loadFaq(); });
  $('faq-next').addEventListener('click', () => { state.offset += PAGE; loadFaq(); });
  $('faq-new').addEventListener('click', newEntry);
  $('faq-form').addEventListener('submit', saveEntry);
  $('faq-delete').addEventListener('click', deleteEntry);
  $('faq-intent-filter').addEventListener('input', filterIntents);
  $('import-file').addEventListener('change', () => { $('import-apply').disabled = true; $('import-summary').textContent = ''; });
  $('import-preview').addEventListener('click', () => runImport(true));
  $('import-apply').addEventListener('click', () => runImport(false));
  $('export-json').addEventListener('click', () => download('json'));
  $('export-csv').addEventListener('click', () => download('csv'));
  $('stats-refresh').addEventListener('click', loadStats);
  $('stats-hours').addEventListener('change', loadStats);
  $('retrain-start').addEventListener('click', startRetraining);
  $('audit-refresh').addEventListener('click', () => loadAudit());
  $('audit-more').addEventListener('click', () => loadAudit(true));
  $('audit-subject').addEventListener('change', () => loadAudit());
  $('customer-form').addEventListener('submit', exportCustomer);
  $('customer-erase').addEventListener('click', eraseCustomer);
  $('ab-form').addEventListener('submit', startAbTest);
  $('ab-add-variant').addEventListener('click', () => $('ab-variant-rows').append(variantRow()));

  if (state.token) start().catch(() => signOut()); else signOut();
})();
