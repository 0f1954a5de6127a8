/*
 * Shopassist agent console: sign in, follow the queue live, open a session with the bot's reading beside
 * each shopper message, claim / release / close it, reply live, correct an intent in one click, see the
 * shopper's orders and suggestions and send an item card.
 *
 * Plain ES, no build, no CDN. Talks to the server only over the REST API (/api/agent/...) and the agent
 * socket (/ws/agent, see docs/agent.md). Every piece of user content goes through textContent.
 * The token and the open session survive a reload (localStorage and the URL hash).
 */
(() => {
  'use strict';

  const TOKEN_KEY = 'shopassist.agent.token';
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const TYPING_SEND_MS = 2000;
  const TYPING_SHOW_MS = 4000;
  const TOAST_MS = 4000;
  const RELOAD_DEBOUNCE_MS = 300;

  const $ = (id) => document.getElementById(id);

  /** Create an element; `text` always goes through textContent. */
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'className') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const short = (s, n = 40) => (String(s).length > n ? `${String(s).slice(0, n - 1)}…` : String(s));
  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  const price = (v) => (Number.isFinite(Number(v)) ? money.format(Number(v)) : '');
  const pct = (v) => (Number.isFinite(Number(v)) ? `${Math.round(Number(v) * 100)}%` : '?');
  const newId = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : `a-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

  function clock(at) {
    if (!at) return '';
    const d = new Date(String(at).endsWith('Z') ? at : `${at}Z`);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function waited(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }

  let toastTimer = null;
  function toast(text) {
    $('toast').textContent = text;
    $('toast').hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { $('toast').hidden = true; }, TOAST_MS);
  }

  // ------------------------------------------------------------------ state

  const state = {
    token: localStorage.getItem(TOKEN_KEY),
    me: null, // {agent_id, name, role}
    ws: null,
    attempt: 0,
    reconnectTimer: null,
    intents: [],
    resolutions: [],
    open: null, // the open session id
    session: null, // its SessionInfo
    lastSeq: 0,
    pending: new Map(), // client_msg_id -> {text, node}
    lastTypingSent: 0,
    typingTimer: null,
  };

  // ------------------------------------------------------------------ REST

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${state.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (response.status === 401) {
      signOut(false);
      throw new Error('signed out');
    }
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((data && data.detail && String(data.detail)) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // ------------------------------------------------------------------ sign in / out

  async function signIn(event) {
    event.preventDefault();
    $('login-error').hidden = true;
    const response = await fetch('/api/agent/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: $('login-email').value.trim(), password: $('login-password').value }),
    });
    if (!response.ok) {
      $('login-error').textContent = 'Wrong email or password.';
      $('login-error').hidden = false;
      return;
    }
    const data = await response.json();
    state.token = data.token;
    localStorage.setItem(TOKEN_KEY, data.token);
    $('login-password').value = '';
    await start();
  }

  async function signOut(callServer = true) {
    if (callServer && state.token) await api('POST', '/api/agent/logout').catch(() => {});
    state.token = null;
    localStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.reconnectTimer);
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000, 'signed out');
    $('console').hidden = true;
    $('login').hidden = false;
  }

  async function start() {
    if (!state.token) {
      $('login').hidden = false;
      return;
    }
    try {
      state.me = await api('GET', '/api/agent/me');
      [state.intents, state.resolutions] = await Promise.all([
        api('GET', '/api/agent/intents'), api('GET', '/api/agent/resolutions')]);
    } catch (_) {
      $('login').hidden = false;
      return;
    }
    $('login').hidden = true;
    $('console').hidden = false;
    $('me').textContent = `${state.me.name} (${state.me.role})`;
    $('resolution').replaceChildren(...state.resolutions.map((r) => el('option', { value: r, text: r })));
    connect();
    loadLeftMessages();
    const fromHash = decodeURIComponent(location.hash.slice(1));
    if (fromHash) openSession(fromHash);
  }

  // ------------------------------------------------------------------ socket

  function connect() {
    if (state.ws || !state.token) return;
    const url = new URL('/ws/agent', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url.href); // the token goes in the first frame, never in the URL
    state.ws = ws;
    ws.addEventListener('open', () => {
      state.attempt = 0;
      ws.send(JSON.stringify({ type: 'auth', token: state.token }));
      setConnection(true);
      if (state.open) send({ type: 'watch', session_id: state.open, after_seq: state.lastSeq });
      for (const [id, p] of state.pending) {
        send({ type: 'message', session_id: p.sessionId, text: p.text, client_msg_id: id });
      }
    });
    ws.addEventListener('message', (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame && typeof frame === 'object') onFrame(frame);
    });
    ws.addEventListener('close', (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      setConnection(false);
      if (event.code === 4401 || event.code === 4403) {
        signOut(false);
        return;
      }
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
      state.attempt += 1;
      state.reconnectTimer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    });
  }

  function send(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function setConnection(online) {
    $('connection').dataset.state = online ? 'online' : 'offline';
    $('connection').textContent = online ? 'Live' : 'Reconnecting…';
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'queue':
        renderQueue(frame);
        break;
      case 'reply':
        if (frame.session_id === state.open) renderMessage(frame);
        break;
      case 'ack':
        if (frame.session_id === state.open) confirmPending(frame.client_msg_id, Number(frame.seq));
        break;
      case 'status':
        if (frame.session_id === state.open) refreshSession();
        break;
      case 'typing':
        if (frame.session_id === state.open && frame.author === 'shopper') showTyping(Boolean(frame.active));
        break;
      case 'error':
        // a refused (rate_limited) or failed (internal) reply was not stored: send it again shortly
        if (frame.client_msg_id && frame.retry_after_ms && state.pending.has(frame.client_msg_id)) {
          resendLater(frame.client_msg_id, Number(frame.retry_after_ms));
          break;
        }
        toast(String(frame.detail || frame.code));
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ queue

  function renderQueue(frame) {
    renderList($('waiting'), frame.waiting || []);
    renderList($('mine'), frame.mine || []);
    $('waiting-count').textContent = String((frame.waiting || []).length);
    $('mine-count').textContent = String((frame.mine || []).length);
    const n = Number(frame.agents_online) || 0;
    $('online').textContent = `${n} agent${n === 1 ? '' : 's'} online`;
    loadLeftMessages();
  }

  function renderList(list, items) {
    list.replaceChildren(...items.map((item) => {
      const last = item.last_message;
      return el('li', {
        className: 'session-item', tabindex: '0', dataset: { sessionId: item.session_id },
        'aria-current': item.session_id === state.open ? 'true' : 'false',
        onclick: () => openSession(item.session_id),
        onkeydown: (e) => { if (e.key === 'Enter') openSession(item.session_id); },
      }, [
        el('span', { className: 'who', text: item.customer_name || item.customer_id || 'Anonymous shopper' }, [
          moodNode(item.mood),
        ]),
        el('span', { className: 'why', text: `${item.handoff_reason || 'handoff'} · ${item.state === 'waiting'
          ? `waiting ${waited(item.wait_s)}` : 'claimed'}` }),
        last ? el('span', { className: 'last', text: `${last.author}: ${last.text}` }) : null,
      ]);
    }));
  }

  /** The shopper's mood as a marker: frustrated or angry shoppers stand out in the queue and transcript. */
  function moodNode(mood) {
    const label = typeof mood === 'string' ? mood : (mood && mood.label);
    if (!label || label === 'calm') return null;
    const score = mood && typeof mood === 'object' ? ` (${pct(mood.score)})` : '';
    return el('span', { className: `mood mood-${label}`, dataset: { mood: label }, text: ` ${label === 'angry' ? '!!' : '!'} ${label}${score}`,
      title: `the shopper reads as ${label}` });
  }

  /** An order card with its lines, address, status timeline and return requests. */
  function orderCardNode(order) {
    const steps = (order.timeline || []).map((s) => el('li', { className: 'step', dataset: { status: s.status } }, [
      el('strong', { text: s.status }), el('span', { className: 'meta', text: ` ${clock(s.at)} ${s.note || ''}` }),
    ]));
    return el('div', { className: 'order-card', dataset: { orderId: String(order.order_id) } }, [
      el('div', { className: 'status', text: `Order #${order.order_id} · ${order.status} · ${price(order.total)}` }),
      order.address ? el('div', { className: 'meta', text: `ships to ${order.address}` }) : null,
      el('ol', { className: 'timeline' }, steps),
      ...(order.returns || []).map((r) => el('div', { className: 'return', text: `${r.kind} ${r.number}: ${r.status}` })),
    ]);
  }

  // ------------------------------------------------------------------ one session

  async function openSession(sessionId) {
    if (state.open && state.open !== sessionId) send({ type: 'unwatch', session_id: state.open });
    state.open = sessionId;
    state.lastSeq = 0;
    history.replaceState(null, '', `#${encodeURIComponent(sessionId)}`);
    for (const node of document.querySelectorAll('.session-item')) {
      node.setAttribute('aria-current', node.dataset.sessionId === sessionId ? 'true' : 'false');
    }
    $('transcript').replaceChildren();
    $('empty').hidden = true;
    $('session').hidden = false;
    try {
      await loadTranscript();
    } catch (error) {
      toast(error.status === 404 ? 'That session does not exist.' : String(error.message));
      return;
    }
    send({ type: 'watch', session_id: sessionId, after_seq: state.lastSeq });
    loadShopper();
  }

  async function loadTranscript() {
    const sessionId = state.open;
    const data = await api('GET', `/api/agent/sessions/${encodeURIComponent(sessionId)}/transcript`);
    if (sessionId !== state.open) return;
    renderSessionInfo(data.session);
    $('transcript').replaceChildren();
    for (const pending of state.pending.values()) if (pending.sessionId === sessionId) pending.node = null;
    for (const m of data.messages) renderMessage(m);
    for (const [id, p] of state.pending) if (p.sessionId === sessionId && !p.node) p.node = pendingNode(id, p.text);
  }

  async function refreshSession() {
    const data = await api('GET', `/api/agent/sessions/${encodeURIComponent(state.open)}/transcript`).catch(() => null);
    if (data && data.session.session_id === state.open) renderSessionInfo(data.session);
  }

  function renderSessionInfo(info) {
    state.session = info;
    const who = info.customer_name || info.customer_id || 'Anonymous shopper';
    $('session-title').textContent = who;
    const parts = [`state: ${info.state}`];
    if (info.handoff_reason) parts.push(`reason: ${info.handoff_reason}`);
    if (info.agent_name) parts.push(`agent: ${info.agent_name}`);
    if (info.resolution) parts.push(`resolution: ${info.resolution}`);
    if (info.priority) parts.push(`priority: ${info.priority}`);
    if (info.mood && info.mood !== 'calm') parts.push(`mood: ${info.mood}`);
    if (info.order_id) parts.push(`about order #${info.order_id}`);
    if (info.rating) parts.push(`rated ${info.rating}/5`);
    $('session-meta').textContent = parts.join(' · ');
    $('session').dataset.state = info.state;
    const mine = info.state === 'with_agent' && state.me && info.agent_id === state.me.agent_id;
    const admin = state.me && state.me.role === 'admin';
    $('claim').disabled = info.state !== 'waiting';
    $('release').disabled = !(mine || (admin && info.state === 'with_agent'));
    $('close').disabled = !(mine || info.state === 'waiting' || (admin && info.state === 'with_agent'));
    $('reply').disabled = !mine;
    $('send').disabled = !mine;
    $('reply').placeholder = mine ? 'Write to the shopper…' : 'Claim the session to reply';
    for (const b of document.querySelectorAll('.send-card')) b.disabled = !mine;
  }

  function findSeq(seq) {
    return $('transcript').querySelector(`li[data-seq="${Number(seq)}"]`);
  }

  /** A stored message (from the transcript or a live frame); each seq is shown once, in seq order. */
  function renderMessage(m) {
    const seq = Number(m.seq);
    if (!Number.isFinite(seq) || findSeq(seq)) return;
    if (m.message_id === undefined && (m.author === 'shopper' || (m.author === 'bot' && m.reading))) {
      scheduleReload(); // live frames carry no message id: reload for the reading and the correction control
    }
    const node = messageNode(m);
    node.dataset.seq = String(seq);
    let before = null;
    for (const child of $('transcript').children) {
      if (child.dataset.seq === undefined || Number(child.dataset.seq) > seq) { before = child; break; }
    }
    $('transcript').insertBefore(node, before);
    if (seq > state.lastSeq) state.lastSeq = seq;
    if (m.author === 'shopper') showTyping(false);
    scrollDown();
  }

  let reloadTimer = null;
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => { if (state.open) loadTranscript().catch(() => {}); }, RELOAD_DEBOUNCE_MS);
  }

  function messageNode(m) {
    const author = m.author || 'bot';
    const body = el('div', {}, [
      el('div', { className: 'author', text: `${m.author_name || author} · ${clock(m.at)}` }),
      el('div', { className: 'bubble', text: m.text || '' }),
      Array.isArray(m.items) && m.items.length ? cardsNode(m.items) : null,
      m.order ? orderCardNode(m.order) : null,
      author === 'shopper' ? moodNode(m.mood) : null,
      m.helpful === true || m.helpful === false
        ? el('span', { className: `vote vote-${m.helpful ? 'up' : 'down'}`, text: m.helpful ? 'shopper: helpful' : 'shopper: not helpful' })
        : null,
    ]);
    const reading = author === 'shopper' && m.message_id !== undefined ? readingNode(m) : null;
    return el('li', { className: `msg msg-${author}`, dataset: { author } }, [body, reading]);
  }

  function cardsNode(items) {
    return el('div', { className: 'cards' }, items.map((i) => el('span', {
      className: 'card-chip', text: `${i.title} · ${price(i.price)}`,
    })));
  }

  /** The bot's reading of a shopper message, with one-click intent correction. */
  function readingNode(m) {
    const r = m.reading;
    const box = el('aside', { className: 'reading', 'aria-label': 'The bot\'s reading' });
    if (r) {
      box.append(el('div', { className: 'intent', text: `${r.intent} · ${pct(r.confidence)}` }));
      if (r.fallback) box.append(el('div', { className: 'fallback', text: 'not confident (fallback)' }));
      const alts = el('div', { className: 'alts' });
      for (const a of r.alternatives || []) {
        alts.append(el('button', {
          type: 'button', className: 'small alt', text: `${a.intent} ${pct(a.confidence)}`,
          title: `Correct the intent to ${a.intent}`, onclick: () => correctIntent(m, a.intent, box),
        }));
      }
      box.append(alts);
      if ((r.faq_ids || []).length) box.append(el('div', { text: `FAQ used: #${r.faq_ids.join(', #')}` }));
      if ((r.items || []).length) {
        box.append(el('div', { text: `Suggested: ${r.items.map((i) => short(i.title)).join('; ')}` }));
      }
    } else {
      box.append(el('div', { className: 'meta', text: 'not read by the bot' }));
    }
    const select = el('select', { className: 'correct', 'aria-label': 'Correct the intent' }, [
      el('option', { value: '', text: 'Correct intent…' }),
      ...state.intents.map((i) => el('option', { value: i, text: i })),
    ]);
    select.addEventListener('change', () => { if (select.value) correctIntent(m, select.value, box); });
    box.append(select);
    if (m.corrected_intent) markCorrected(box, m.corrected_intent);
    return box;
  }

  async function correctIntent(m, intent, box) {
    try {
      await api('POST', `/api/agent/sessions/${encodeURIComponent(state.open)}/messages/${m.message_id}/correct-intent`,
        { intent });
      markCorrected(box, intent);
    } catch (error) {
      toast(`Correction not saved: ${error.message}`);
    }
  }

  function markCorrected(box, intent) {
    let note = box.querySelector('.corrected');
    if (!note) {
      note = el('div', { className: 'corrected' });
      box.append(note);
    }
    note.textContent = `corrected to ${intent}`;
  }

  function scrollDown() {
    const t = $('transcript');
    t.scrollTop = t.scrollHeight;
  }

  function showTyping(on) {
    $('typing').hidden = !on;
    clearTimeout(state.typingTimer);
    if (on) state.typingTimer = setTimeout(() => { $('typing').hidden = true; }, TYPING_SHOW_MS);
  }

  // ------------------------------------------------------------------ replying

  function sendReply(event) {
    event.preventDefault();
    const text = $('reply').value.trim();
    if (!text || !state.open) return;
    const id = newId();
    const pending = { sessionId: state.open, text, node: null };
    pending.node = pendingNode(id, text);
    state.pending.set(id, pending);
    send({ type: 'message', session_id: state.open, text, client_msg_id: id });
    $('reply').value = '';
    $('reply').focus();
  }

  function pendingNode(id, text) {
    const node = messageNode({ author: 'agent', author_name: state.me ? state.me.name : 'Me', text });
    node.classList.add('pending');
    node.dataset.clientMsgId = id;
    $('transcript').append(node);
    scrollDown();
    return node;
  }

  function confirmPending(clientMsgId, seq) {
    const pending = state.pending.get(clientMsgId);
    state.pending.delete(clientMsgId);
    if (!pending || !pending.node) return;
    if (findSeq(seq)) {
      pending.node.remove(); // the stored message already came through the bus
      return;
    }
    pending.node.classList.remove('pending');
    pending.node.dataset.seq = String(seq);
    pending.node.querySelector('.author').textContent = `${state.me ? state.me.name : 'Me'} · ${clock(new Date().toISOString())}`;
    if (seq > state.lastSeq) state.lastSeq = seq;
  }

  function resendLater(clientMsgId, delayMs) {
    setTimeout(() => {
      const p = state.pending.get(clientMsgId);
      if (p) send({ type: 'message', session_id: p.sessionId, text: p.text, client_msg_id: clientMsgId });
    }, Math.min(Math.max(delayMs, 50), 60000));
  }

  function onReplyInput() {
    const now = Date.now();
    if (state.open && now - state.lastTypingSent > TYPING_SEND_MS) {
      state.lastTypingSent = now;
      send({ type: 'typing', session_id: state.open, active: true });
    }
  }

  // ------------------------------------------------------------------ claim / release / close

  async function change(action, body) {
    const sessionId = state.open;
    try {
      await api('POST', `/api/agent/sessions/${encodeURIComponent(sessionId)}/${action}`, body);
    } catch (error) {
      toast(error.status === 409 ? `Cannot ${action}: ${error.message}` : String(error.message));
    }
    if (sessionId === state.open) await refreshSession();
  }

  // ------------------------------------------------------------------ the shopper

  async function loadShopper() {
    const sessionId = state.open;
    $('orders').replaceChildren();
    $('suggestions').replaceChildren();
    const data = await api('GET', `/api/agent/sessions/${encodeURIComponent(sessionId)}/shopper`).catch(() => null);
    if (!data || sessionId !== state.open) return;
    $('shopper-name').textContent = data.customer_name || data.customer_id || 'Anonymous shopper';
    $('orders').replaceChildren(...(data.orders.length ? data.orders.map(orderNode)
      : [el('li', { className: 'meta', text: 'No orders.' })]));
    $('suggestions').replaceChildren(...(data.suggestions.length ? data.suggestions.map(suggestionNode)
      : [el('li', { className: 'meta', text: 'No suggestions.' })]));
    if (state.session) renderSessionInfo(state.session);
  }

  function orderNode(o) {
    return el('li', { className: 'order' }, [
      el('span', { className: 'status', text: `#${o.order_id} · ${o.status}` }),
      el('span', { text: o.titles.join('; ') }),
      el('span', { className: 'meta', text: `${price(o.total)} · placed ${o.placed} · updated ${o.updated}` }),
      o.card ? orderCardNode(o.card) : null,
    ]);
  }

  function suggestionNode(item) {
    return el('li', { className: 'suggestion' }, [
      el('span', { text: item.title }),
      el('span', { className: 'price', text: price(item.price) }),
      el('button', {
        type: 'button', className: 'small send-card', text: 'Send card',
        onclick: () => sendCard(item.item_id),
      }),
    ]);
  }

  async function sendCard(itemId) {
    try {
      await api('POST', `/api/agent/sessions/${encodeURIComponent(state.open)}/cards`, { item_id: itemId });
    } catch (error) {
      toast(`Card not sent: ${error.message}`);
    }
  }

  // ------------------------------------------------------------------ left messages

  async function loadLeftMessages() {
    const items = await api('GET', '/api/agent/left-messages').catch(() => null);
    if (!items) return;
    $('left').replaceChildren(...(items.length ? items.map(leftNode)
      : [el('li', { className: 'meta', text: 'None waiting.' })]));
  }

  function leftNode(m) {
    const answer = el('textarea', { rows: '2', maxlength: '2000', 'aria-label': 'Answer', placeholder: 'Answer…' });
    const form = el('form', { className: 'left-answer' }, [answer, el('button', { type: 'submit', className: 'small', text: 'Answer' })]);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!answer.value.trim()) return;
      try {
        await api('POST', `/api/agent/left-messages/${m.id}/answer`, { text: answer.value.trim() });
        loadLeftMessages();
      } catch (error) {
        toast(`Not answered: ${error.message}`);
      }
    });
    return el('li', { className: 'left-item' }, [
      el('span', { text: m.text }),
      el('span', { className: 'meta', text: `${m.contact || 'no contact'} · ${clock(m.created_at)}` }),
      form,
    ]);
  }

  // ------------------------------------------------------------------ wiring

  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', () => signOut(true));
  $('reply-form').addEventListener('submit', sendReply);
  $('reply').addEventListener('input', onReplyInput);
  $('reply').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('reply-form').requestSubmit();
    }
  });
  $('claim').addEventListener('click', () => change('claim'));
  $('release').addEventListener('click', () => change('release'));
  $('close').addEventListener('click', () => change('close', { resolution: $('resolution').value }));
  $('left-refresh').addEventListener('click', loadLeftMessages);
  window.addEventListener('hashchange', () => {
    const id = decodeURIComponent(location.hash.slice(1));
    if (id && id !== state.open && state.me) openSession(id);
  });

  start();
})();
