/*
 * Shopassist chat widget: an embeddable customer-service chat for any shop page.
 *
 * Embed with ONE tag (no build step, no framework, no CDN):
 *   <script src="https://shop.example/widget/widget.js" data-server="https://shop.example"></script>
 * Optional attributes: data-title="Help", data-open="true" (start opened), data-accent="#2f6fed".
 * A signed-in shopper: data-customer-id="A994" data-customer-sig="…", the signature made by the shop's
 * backend, hex(HMAC-SHA256(identity secret, customer id)) (docs/security.md); the widget then speaks as
 * that customer (and an empty data-customer-id means a guest, whatever was stored before).
 *
 * The widget injects its own DOM (inside a shadow root, so the host page's CSS cannot break it)
 * and its stylesheet (widget.css next to this file). It speaks the protocol of docs/protocol.md:
 * POST /api/sessions, then WS /ws/chat?session_id=… whose first frame is {"type":"auth","token":…}
 * (never in the URL), then ack / reply / status / typing / error frames.
 * The session id + token live in sessionStorage (this tab only, not the host page's localStorage) so a
 * reload resumes the same conversation; the socket reconnects with exponential backoff, sends
 * {"type":"resume","after_seq":lastSeq} and re-sends unacknowledged messages with their original client_msg_id.
 * Every piece of user, agent or bot content is rendered with textContent, never as HTML.
 *
 * A small API is exposed for the host page: window.Shopassist.{open, close, toggle, send,
 * signIn(customerId, customerSig), signOut(), session()}; the window receives "shopassist:session" and
 * "shopassist:add_to_cart" CustomEvents.
 * Privacy (docs/privacy.md): a switch "Use my activity for suggestions" (PUT /api/sessions/{id}/consent,
 * remembered in localStorage; its first value is the shop's default) and "Delete conversation"
 * (DELETE /api/sessions/{id}, then a fresh conversation).
 */
(() => {
  'use strict';

  if (window.Shopassist && window.Shopassist.version) return; // loaded twice: keep the first

  const script = document.currentScript;
  const scriptUrl = new URL((script && script.src) || 'widget/widget.js', document.baseURI);
  const attr = (name, fallback) => (script && script.getAttribute(name)) || fallback;

  const SERVER = (attr('data-server', '') || scriptUrl.origin).replace(/\/+$/, '');
  const TITLE = attr('data-title', 'Shop assistant');
  const ACCENT = attr('data-accent', '');
  const START_OPEN = attr('data-open', 'false') === 'true';
  // the shop's proof of who is signed in; null when the page does not say (keep what this tab had)
  const PAGE_CUSTOMER = script && script.hasAttribute('data-customer-id')
    ? { id: script.getAttribute('data-customer-id') || null, sig: attr('data-customer-sig', null) }
    : null;
  const STORE_KEY = `shopassist.v1:${SERVER}`;
  const MAX_CHARS = 2000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const STABLE_MS = 3000; // a socket open this long resets the backoff
  const TOAST_MS = 4500;
  const REPLY_TIMEOUT_MS = 30000; // stop the typing dots if nothing came back
  const MAX_INTERNAL_RETRIES = 5;
  const MESSAGE_ERRORS = new Set(['too_long', 'empty', 'bad_frame', 'frame_too_large', 'closed']);
  const ERROR_TEXT = {
    too_long: `That message is too long (at most ${MAX_CHARS.toLocaleString('en-US')} characters).`,
    empty: 'Please type a message first.',
    closed: 'This conversation is closed.',
    unknown_item: 'That product is no longer available.',
    internal: 'Something went wrong on our side. Please try again.',
    rate_limited: 'You are sending messages too fast. Please wait a moment.',
  };

  // ---------------------------------------------------------------- small helpers

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

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  }

  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  function formatPrice(value) {
    const n = Number(value);
    return Number.isFinite(n) ? money.format(n) : '';
  }

  function formatTime(at) {
    if (!at) return '';
    const d = new Date(at);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function readStore() {
    try {
      const raw = window.sessionStorage.getItem(STORE_KEY);
      const data = raw ? JSON.parse(raw) : {};
      return data && typeof data === 'object' ? data : {};
    } catch (_) {
      return {};
    }
  }

  function writeStore(data) {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(data));
    } catch (_) {
      /* private mode or full storage: the chat still works for this page view */
    }
  }

  // ---------------------------------------------------------------- state

  const stored = readStore();
  const pageChangedCustomer = PAGE_CUSTOMER && stored.session
    && (stored.session.customer_id || null) !== PAGE_CUSTOMER.id;
  const state = {
    session: (!pageChangedCustomer && stored.session) || null, // {session_id, token, customer_id, customer_sig, customer_name}
    activity: typeof stored.activity === 'boolean' ? stored.activity : null, // null: the shop's default
    pending: !pageChangedCustomer && Array.isArray(stored.pending) ? stored.pending : [], // [{client_msg_id, text}]
    lastSeq: 0, // highest seq seen on this page view (resume replays the rest)
    // seqs of acknowledged messages whose answer has not arrived: an answer stored just before the
    // socket dropped can have a lower seq than a later ack, so resume starts before the first of these
    awaiting: new Set(),
    ws: null,
    connected: false,
    attempt: 0,
    reconnectTimer: null,
    stableTimer: null,
    replyTimer: null,
    chatState: 'bot', // bot | waiting | with_agent | closed
    outbox: [], // behaviour events waiting for a socket
    open: false,
    started: false,
    creating: null,
    generation: 0, // counts restarts: a session asked for before the latest one is dropped
    customerId: PAGE_CUSTOMER ? PAGE_CUSTOMER.id : null, // who to sign in again if the stored session is refused
    customerSig: PAGE_CUSTOMER ? PAGE_CUSTOMER.sig : null, // the shop's signature of customerId
    lastStatusKey: '',
  };

  function persist() {
    writeStore({ session: state.session, pending: state.pending, activity: state.activity });
  }

  // ---------------------------------------------------------------- DOM

  const host = el('div', { id: 'shopassist-widget' });
  const root = host.attachShadow({ mode: 'open' });
  const stylesheet = el('link', { rel: 'stylesheet', href: new URL('widget.css', scriptUrl).href });
  const shell = el('div', { className: 'sa-root', hidden: true });
  if (ACCENT) shell.style.setProperty('--sa-accent', ACCENT);
  const reveal = () => shell.removeAttribute('hidden');
  stylesheet.addEventListener('load', reveal);
  stylesheet.addEventListener('error', reveal);
  setTimeout(reveal, 3000);

  const launcher = el('button', {
    type: 'button', className: 'sa-launcher', 'aria-label': `Open ${TITLE} chat`,
    'aria-expanded': 'false', 'aria-controls': 'sa-panel',
  }, [launcherIcon()]);

  const statusLine = el('div', { className: 'sa-status', text: 'Connecting…' });
  const humanButton = el('button', { type: 'button', className: 'sa-human', text: 'Talk to a human' });
  // ends the conversation (a `close` frame) so it can be rated; "×" only hides the panel
  const endButton = el('button', {
    type: 'button', className: 'sa-end', text: 'End chat', 'aria-label': 'End this conversation',
  });
  const closeButton = el('button', { type: 'button', className: 'sa-close', 'aria-label': 'Close chat', text: '×' });
  const header = el('header', { className: 'sa-header' }, [
    el('div', { className: 'sa-heading' }, [el('h2', { className: 'sa-title', text: TITLE }), statusLine]),
    humanButton,
    endButton,
    closeButton,
  ]);

  const log = el('div', {
    className: 'sa-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    'aria-label': 'Conversation',
  });
  const typing = el('div', { className: 'sa-typing', hidden: true, role: 'status' }, [
    el('span', { className: 'sa-dot', 'aria-hidden': 'true' }),
    el('span', { className: 'sa-dot', 'aria-hidden': 'true' }),
    el('span', { className: 'sa-dot', 'aria-hidden': 'true' }),
  ]);
  const typingLabel = el('span', { className: 'sa-visually-hidden', text: 'The assistant is typing' });
  typing.append(typingLabel);
  const scroller = el('div', { className: 'sa-scroll' }, [log, typing]);
  const toast = el('div', { className: 'sa-toast', role: 'alert', hidden: true });

  const input = el('textarea', {
    className: 'sa-input', rows: '1', maxlength: String(MAX_CHARS), 'aria-label': 'Type your message',
    placeholder: 'Ask about an order or a product…', autocomplete: 'off',
  });
  const sendButton = el('button', { type: 'submit', className: 'sa-send', 'aria-label': 'Send message' }, [sendIcon()]);
  const compose = el('form', { className: 'sa-compose' }, [input, sendButton]);

  const activitySwitch = el('input', { type: 'checkbox', className: 'sa-activity' });
  const deleteButton = el('button', { type: 'button', className: 'sa-link sa-delete', text: 'Delete conversation' });
  const privacyBar = el('div', { className: 'sa-privacy' }, [
    el('label', { className: 'sa-activity-label' }, [activitySwitch, el('span', { text: 'Use my activity for suggestions' })]),
    deleteButton,
  ]);

  const panel = el('section', {
    id: 'sa-panel', className: 'sa-panel', role: 'dialog', 'aria-label': `${TITLE} chat`, hidden: true,
  }, [header, scroller, toast, compose, privacyBar]);

  shell.append(panel, launcher);
  root.append(stylesheet, shell);

  function svg(paths, viewBox = '0 0 24 24') {
    const ns = 'http://www.w3.org/2000/svg';
    const icon = document.createElementNS(ns, 'svg');
    icon.setAttribute('viewBox', viewBox);
    icon.setAttribute('aria-hidden', 'true');
    icon.setAttribute('focusable', 'false');
    for (const d of paths) {
      const path = document.createElementNS(ns, 'path');
      path.setAttribute('d', d);
      icon.append(path);
    }
    return icon;
  }

  const THUMB_UP = 'M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 '
    + '7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z';
  const THUMB_DOWN = 'M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 '
    + '4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z';

  function launcherIcon() {
    return svg(['M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z']);
  }

  function sendIcon() {
    return svg(['M3 20.5 21 12 3 3.5l.01 6.6L15 12 3.01 13.9z']);
  }

  // ---------------------------------------------------------------- rendering

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  /** Insert a timeline node in seq order; nodes without a seq (pending) stay at the end. */
  function place(node, seq) {
    node.dataset.order = String(seq);
    let before = null;
    for (const child of log.children) {
      const order = child.dataset.order;
      if (order === 'pending' || Number(order) > seq) {
        before = child;
        break;
      }
    }
    log.insertBefore(node, before);
  }

  function findBy(attrName, value) {
    for (const child of log.children) if (child.dataset[attrName] === String(value)) return child;
    return null;
  }

  function authorLabel(frame) {
    if (frame.author === 'shopper') return 'You';
    if (frame.author === 'agent') return frame.author_name || 'Support agent';
    if (frame.author === 'system') return frame.author_name || 'Shop';
    return frame.author_name || 'Assistant';
  }

  function messageNode(frame) {
    const author = frame.author || 'bot';
    const bubble = el('div', { className: 'sa-bubble', text: frame.text || '' });
    const meta = el('div', { className: 'sa-meta', text: formatTime(frame.at) });
    const node = el('div', { className: `sa-msg sa-from-${author}`, dataset: { author } }, [
      el('div', { className: 'sa-author', text: authorLabel(frame) }),
      bubble,
    ]);
    if (Array.isArray(frame.items) && frame.items.length) node.append(cardsNode(frame.items));
    if (frame.order && typeof frame.order === 'object') node.append(orderNode(frame.order));
    if (Array.isArray(frame.options) && frame.options.length) node.append(optionsNode(frame.options));
    if (author === 'bot' && frame.seq !== undefined && frame.seq !== null) meta.append(feedbackNode(frame.seq));
    node.append(meta);
    if (frame.seq !== undefined && frame.seq !== null) node.dataset.seq = String(frame.seq);
    if (frame.client_msg_id) node.dataset.clientMsgId = frame.client_msg_id;
    return node;
  }

  /** Quick replies: each button sends its value as an ordinary message, then the row is spent. */
  function optionsNode(options) {
    const row = el('div', { className: 'sa-options', role: 'group', 'aria-label': 'Quick replies' });
    for (const option of options) {
      row.append(el('button', {
        type: 'button', className: 'sa-option', text: String(option.label || option.value || ''),
        onclick: () => { send(String(option.value || option.label || '')); },
      }));
    }
    return row;
  }

  function formatDay(at) {
    const date = new Date(at);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  }

  /** An order card: number, status, lines, address, and the status timeline (oldest first). */
  function orderNode(order) {
    const lines = el('ul', { className: 'sa-order-lines' });
    for (const line of order.lines || []) {
      lines.append(el('li', { text: `${line.quantity || 1} × ${line.title} — ${formatPrice(line.price)}` }));
    }
    const timeline = el('ol', { className: 'sa-timeline', 'aria-label': 'Order status timeline' });
    for (const step of order.timeline || []) {
      timeline.append(el('li', { className: `sa-step sa-step-${step.status}`, dataset: { status: step.status } }, [
        el('span', { className: 'sa-step-status', text: step.status }),
        el('span', { className: 'sa-step-at', text: formatDay(step.at) }),
        step.note ? el('span', { className: 'sa-step-note', text: step.note }) : null,
      ]));
    }
    const returns = (order.returns || []).map((r) => el('p', {
      className: 'sa-order-return', text: `${r.kind} ${r.number}: ${r.status}`,
    }));
    return el('article', { className: 'sa-order', dataset: { orderId: String(order.order_id), status: order.status } }, [
      el('h3', { className: 'sa-order-title', text: `Order #${order.order_id}` }),
      el('span', { className: `sa-order-status sa-status-${order.status}`, text: order.status }),
      el('div', { className: 'sa-order-meta', text: `placed ${order.placed} · ${formatPrice(order.total)}` }),
      order.address ? el('div', { className: 'sa-order-address', text: `ships to ${order.address}` }) : null,
      lines, timeline, ...returns,
    ]);
  }

  /** Thumbs up / down on one bot reply (a `feedback` frame with the reply's seq; the last vote counts). */
  function feedbackNode(seq) {
    const wrap = el('span', { className: 'sa-feedback', role: 'group', 'aria-label': 'Was this helpful?' });
    const vote = (helpful) => {
      sendFrame({ type: 'feedback', seq: Number(seq), helpful });
      up.setAttribute('aria-pressed', String(helpful));
      down.setAttribute('aria-pressed', String(!helpful));
    };
    const up = el('button', { type: 'button', className: 'sa-thumb-up', 'aria-label': 'Helpful',
      title: 'Helpful', 'aria-pressed': 'false', onclick: () => vote(true) }, [svg([THUMB_UP])]);
    const down = el('button', { type: 'button', className: 'sa-thumb-down', 'aria-label': 'Not helpful',
      title: 'Not helpful', 'aria-pressed': 'false', onclick: () => vote(false) }, [svg([THUMB_DOWN])]);
    wrap.append(up, down);
    return wrap;
  }

  /** 1-5 stars when the conversation closes (a `rating` frame). */
  function ratingNode() {
    const wrap = el('div', { className: 'sa-rating', role: 'group', 'aria-label': 'Rate this conversation' });
    for (let stars = 1; stars <= 5; stars += 1) {
      wrap.append(el('button', {
        type: 'button', className: 'sa-star', text: '★', 'aria-label': `${stars} star${stars > 1 ? 's' : ''}`,
        dataset: { stars: String(stars) },
        onclick: () => {
          sendFrame({ type: 'rating', stars });
          for (const b of wrap.querySelectorAll('button')) {
            b.classList.toggle('sa-star-on', Number(b.dataset.stars) <= stars);
            b.disabled = true;
          }
          wrap.append(el('span', { className: 'sa-rating-thanks', text: 'Thank you for your rating!' }));
        },
      }));
    }
    return wrap;
  }

  function cardsNode(items) {
    const list = el('ul', { className: 'sa-cards', 'aria-label': 'Suggested products' });
    for (const item of items) list.append(el('li', {}, [cardNode(item)]));
    return list;
  }

  function cardNode(item) {
    const title = String(item.title || 'Product');
    const itemId = Number(item.item_id);
    const added = el('span', { className: 'sa-added', hidden: true, text: 'Added to cart ✓' });
    const addButton = el('button', {
      type: 'button', className: 'sa-card-add', text: 'Add to cart',
      'aria-label': `Add ${title} to cart`,
      onclick: () => {
        sendEvent('add_to_cart', itemId);
        addButton.hidden = true;
        added.hidden = false;
        window.dispatchEvent(new CustomEvent('shopassist:add_to_cart', { detail: { item_id: itemId, title } }));
      },
    });
    const viewButton = el('button', {
      type: 'button', className: 'sa-card-view', text: 'View', 'aria-label': `View ${title}`,
      onclick: () => {
        sendEvent('view', itemId);
        viewButton.classList.add('sa-viewed');
        window.dispatchEvent(new CustomEvent('shopassist:view', { detail: { item_id: itemId, title } }));
      },
    });
    return el('article', { className: 'sa-card', dataset: { itemId: String(itemId) } }, [
      el('div', { className: 'sa-thumb', 'aria-hidden': 'true', text: title.trim().charAt(0).toUpperCase() }),
      el('div', { className: 'sa-card-body' }, [
        el('h3', { className: 'sa-card-title', text: title, title }),
        el('div', { className: 'sa-card-price', text: formatPrice(item.price) }),
        item.available === false
          ? el('div', { className: 'sa-card-stock sa-out', text: 'Out of stock' })
          : (item.available === true ? el('div', { className: 'sa-card-stock sa-in', text: 'In stock' }) : null),
        item.reason ? el('p', { className: 'sa-card-reason', text: item.reason }) : null,
        el('div', { className: 'sa-card-actions' }, [viewButton, addButton, added]),
      ]),
    ]);
  }

  /** A local notice (status change, welcome) anchored after everything seen so far. */
  function addNotice(text, extra = null, kind = 'info') {
    const node = el('div', { className: `sa-notice sa-notice-${kind}`, dataset: { notice: kind } }, [
      el('p', { text }),
    ]);
    if (extra) node.append(extra);
    place(node, state.lastSeq + 0.5);
    scrollToEnd();
    return node;
  }

  function showWelcome() {
    if (log.querySelector('.sa-welcome')) return;
    const who = state.session && state.session.customer_name;
    const node = el('div', { className: 'sa-msg sa-from-bot sa-welcome', dataset: { author: 'bot' } }, [
      el('div', { className: 'sa-author', text: 'Assistant' }),
      el('div', {
        className: 'sa-bubble',
        text: `Hi${who ? ` ${who}` : ''}! I can help with orders, shipping, returns and finding the right products. What can I do for you?`,
      }),
    ]);
    place(node, 0);
  }

  function renderReply(frame) {
    const seq = Number(frame.seq);
    if (Number.isFinite(seq) && findBy('seq', seq)) return; // already shown (replay after resume)
    if (frame.author === 'shopper' && frame.client_msg_id) {
      const mine = findBy('clientMsgId', frame.client_msg_id);
      if (mine) {
        confirmPending(frame.client_msg_id, seq, frame.at);
        return;
      }
    }
    const node = messageNode(frame);
    place(node, Number.isFinite(seq) ? seq : state.lastSeq + 0.5);
    if (frame.author !== 'shopper') setTyping(false);
    scrollToEnd();
  }

  function confirmPending(clientMsgId, seq, at) {
    const node = findBy('clientMsgId', clientMsgId);
    if (node) {
      node.classList.remove('sa-pending', 'sa-failed');
      if (Number.isFinite(seq)) {
        node.dataset.seq = String(seq);
        const next = node.nextElementSibling;
        const prev = node.previousElementSibling;
        const inOrder = (!prev || Number(prev.dataset.order) <= seq)
          && (!next || next.dataset.order === 'pending' || Number(next.dataset.order) > seq);
        if (inOrder) node.dataset.order = String(seq);
        else {
          node.remove(); // out of order (replies overtook it): move it, once
          place(node, seq);
        }
      }
      const meta = node.querySelector('.sa-meta');
      if (meta) meta.textContent = formatTime(at || new Date().toISOString());
    }
    const before = state.pending.length;
    state.pending = state.pending.filter((p) => p.client_msg_id !== clientMsgId);
    if (state.pending.length !== before) persist();
  }

  function failOldestInFlight(reason) {
    const first = state.pending.find((p) => p.sent);
    if (!first) return;
    state.pending = state.pending.filter((p) => p !== first);
    persist();
    const node = findBy('clientMsgId', first.client_msg_id);
    if (node) {
      node.classList.remove('sa-pending');
      node.classList.add('sa-failed');
      node.dataset.order = String(state.lastSeq + 0.5);
      const meta = node.querySelector('.sa-meta');
      if (meta) meta.textContent = `Not sent: ${reason}`;
    }
  }

  /** A message refused as rate_limited was neither stored nor acked: send it again once the server allows. */
  function resendLater(clientMsgId, delayMs) {
    const p = state.pending.find((m) => m.client_msg_id === clientMsgId);
    if (!p) return;
    p.sent = false;
    const node = findBy('clientMsgId', clientMsgId);
    const meta = node && node.querySelector('.sa-meta');
    if (meta) meta.textContent = 'Sending in a moment…';
    setTimeout(() => {
      // the earliest message still unsent goes first, so refused messages keep the order they were typed in
      const next = state.pending.find((m) => !m.sent);
      if (!next) return; // resent on a reconnect meanwhile, or acked
      if (sendFrame({ type: 'message', text: next.text, client_msg_id: next.client_msg_id })) next.sent = true;
      const nextNode = findBy('clientMsgId', next.client_msg_id);
      const nextMeta = nextNode && nextNode.querySelector('.sa-meta');
      if (nextMeta) nextMeta.textContent = state.connected ? 'Sending…' : 'Waiting for connection…';
    }, Math.min(Math.max(delayMs, 50), 60000));
  }

  /** Resend a message the server failed on, a few times; false once it has had its tries. */
  function retryAfterFailure(clientMsgId, delayMs) {
    const p = state.pending.find((m) => m.client_msg_id === clientMsgId);
    if (!p || (p.failures = (p.failures || 0) + 1) > MAX_INTERNAL_RETRIES) return false;
    resendLater(clientMsgId, delayMs * p.failures);
    return true;
  }

  function pendingNode(p) {
    const node = messageNode({ author: 'shopper', text: p.text, client_msg_id: p.client_msg_id });
    node.classList.add('sa-pending');
    node.querySelector('.sa-meta').textContent = state.connected ? 'Sending…' : 'Waiting for connection…';
    node.dataset.order = 'pending';
    log.append(node);
    return node;
  }

  function refreshPendingMeta() {
    for (const node of log.querySelectorAll('.sa-pending .sa-meta')) {
      node.textContent = state.connected ? 'Sending…' : 'Waiting for connection…';
    }
  }

  function setTyping(on, author = 'bot') {
    typingLabel.textContent = author === 'agent' ? 'Someone from our team is typing' : 'The assistant is typing';
    typing.hidden = !on;
    clearTimeout(state.replyTimer);
    if (on) {
      state.replyTimer = setTimeout(() => setTyping(false), REPLY_TIMEOUT_MS);
      scrollToEnd();
    }
  }

  let toastTimer = null;
  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, TOAST_MS);
  }

  function setStatusLine() {
    if (!state.connected) {
      statusLine.textContent = state.attempt > 0 ? 'Reconnecting…' : 'Connecting…';
      statusLine.dataset.connection = 'offline';
      return;
    }
    statusLine.dataset.connection = 'online';
    const who = state.session && state.session.customer_name;
    const text = {
      waiting: 'Waiting for a person',
      with_agent: 'With a person',
      closed: 'Conversation closed',
    }[state.chatState] || (who ? `Online · ${who}` : 'Online');
    statusLine.textContent = text;
    statusLine.title = who ? `${text} (signed in as ${who})` : text;
  }

  function clearConversation() {
    log.replaceChildren();
    setTyping(false);
    state.lastSeq = 0;
    state.awaiting.clear();
    state.lastStatusKey = '';
    setChatState('bot');
  }

  // ---------------------------------------------------------------- status / handoff

  function setChatState(chatState) {
    state.chatState = chatState;
    humanButton.disabled = chatState === 'waiting' || chatState === 'with_agent' || chatState === 'closed';
    endButton.disabled = chatState === 'closed';
    if (chatState !== 'bot') setTyping(false);
    setStatusLine();
  }

  function renderStatus(frame) {
    setChatState(frame.state || 'bot');
    // the server repeats the current status after every resume: announce only real changes
    const key = [frame.state, frame.queue_position, frame.agents_online, frame.agent_name].join('|');
    if (key === state.lastStatusKey) return;
    state.lastStatusKey = key;
    if (frame.state === 'waiting') {
      if (frame.agents_online === 0) {
        addNotice('No one from our team is online right now. Leave a message and we will get back to you.',
          leaveMessageForm(), 'offline');
      } else {
        const pos = Number(frame.queue_position);
        const where = Number.isFinite(pos) && pos > 0 ? ` — you are number ${pos} in the queue` : '';
        addNotice(`A person will be with you shortly${where}.`, null, 'waiting');
      }
    } else if (frame.state === 'with_agent') {
      addNotice(`You are now chatting with ${frame.agent_name || 'a member of our team'}.`, null, 'agent');
    } else if (frame.state === 'bot') {
      addNotice('You are back with the assistant.', null, 'bot');
    } else if (frame.state === 'closed') {
      const again = el('button', {
        type: 'button', className: 'sa-link', text: 'Start a new conversation',
        onclick: () => { restart(state.session && state.session.customer_id, state.session && state.session.customer_sig); },
      });
      const after = el('div', {}, [ratingNode(), again]);
      addNotice('This conversation has been closed. Thank you! How did we do?', after, 'closed');
    }
  }

  function leaveMessageForm() {
    const text = el('textarea', {
      className: 'sa-field', rows: '3', maxlength: String(MAX_CHARS), required: true,
      'aria-label': 'Your message for our team', placeholder: 'How can we help?',
    });
    const contact = el('input', {
      className: 'sa-field', type: 'text', maxlength: '200', 'aria-label': 'Email or phone (optional)',
      placeholder: 'Email or phone (optional)', autocomplete: 'email',
    });
    const form = el('form', { className: 'sa-leave' }, [
      text, contact, el('button', { type: 'submit', className: 'sa-primary', text: 'Leave message' }),
    ]);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = text.value.trim();
      if (!body) { text.focus(); return; }
      if (!sendFrame({ type: 'leave_message', text: body, contact: contact.value.trim() })) {
        showToast('Not connected yet. Please try again in a moment.');
        return;
      }
      const thanks = contact.value.trim()
        ? `Thanks! We will get back to you at ${contact.value.trim()}.`
        : 'Thanks! Your message has been left for our team.';
      form.replaceWith(el('p', { className: 'sa-thanks', text: thanks }));
    });
    return form;
  }

  // ---------------------------------------------------------------- network

  async function createSession(customerId, customerSig) {
    // a sign-in or sign-out (restart) while this request is out makes its session unwanted: the widget
    // would otherwise take whichever answer came last (a guest session after a sign-in, or the reverse)
    const generation = state.generation;
    const body = customerId ? { customer_id: customerId } : {};
    if (state.activity !== null) body.activity_consent = state.activity;
    if (customerId && customerSig) body.customer_sig = customerSig;
    const response = await fetch(`${SERVER}/api/sessions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const error = new Error(`session request failed (${response.status})`);
      error.status = response.status;
      throw error;
    }
    const data = await response.json();
    if (generation !== state.generation) {
      const superseded = new Error('a newer session was asked for');
      superseded.superseded = true;
      throw superseded;
    }
    state.session = {
      session_id: data.session_id, token: data.token,
      customer_id: data.customer_id || customerId || null, customer_name: data.customer_name || null,
      customer_sig: (customerId && customerSig) || null,
    };
    activitySwitch.checked = data.activity_consent !== false;
    persist();
    window.dispatchEvent(new CustomEvent('shopassist:session', { detail: publicSession() }));
    return state.session;
  }

  function ensureSession() {
    if (state.session) return Promise.resolve(state.session);
    if (!state.creating) {
      const creating = createSession(state.customerId || null, state.customerSig || null)
        .finally(() => { if (state.creating === creating) state.creating = null; });
      state.creating = creating;
    }
    return state.creating;
  }

  function socketUrl() {
    const url = new URL(`${SERVER}/ws/chat`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('session_id', state.session.session_id);
    return url.href; // the token goes in the first frame: URLs end up in access logs
  }

  async function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) return;
    try {
      await ensureSession();
    } catch (error) {
      if (error.superseded) return; // the restart that superseded it connects its own session
      if (error.status === 403) {
        // the shop's signature is refused: go on as a guest rather than retry a proof that cannot pass
        state.customerId = null;
        state.customerSig = null;
        showToast('The shop could not confirm who you are; you are chatting as a guest.');
      }
      scheduleReconnect();
      return;
    }
    if (state.ws) return;
    const ws = new WebSocket(socketUrl());
    state.ws = ws;
    ws.addEventListener('open', () => {
      if (state.ws !== ws) return;
      state.connected = true;
      setChatState('bot'); // the server sends a status frame after the resume if someone else has the chat
      refreshPendingMeta();
      state.stableTimer = setTimeout(() => { state.attempt = 0; }, STABLE_MS);
      ws.send(JSON.stringify({ type: 'auth', token: state.session.token }));
      ws.send(JSON.stringify({ type: 'resume', after_seq: resumePoint() }));
      for (const p of state.pending) {
        p.sent = true;
        ws.send(JSON.stringify({ type: 'message', text: p.text, client_msg_id: p.client_msg_id }));
      }
      const events = state.outbox.splice(0);
      for (const frame of events) ws.send(JSON.stringify(frame));
    });
    ws.addEventListener('message', (event) => {
      if (state.ws !== ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch (_) { return; }
      if (frame && typeof frame === 'object') handleFrame(frame);
    });
    ws.addEventListener('close', (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.connected = false;
      clearTimeout(state.stableTimer);
      for (const p of state.pending) p.sent = false;
      setStatusLine();
      refreshPendingMeta();
      if (event.code === 4401 || event.code === 4404) {
        // the stored session is gone or its token is refused: start a fresh one for the same
        // shopper; unsent messages stay queued and go to the new conversation
        state.customerId = state.session && state.session.customer_id;
        state.customerSig = state.session && state.session.customer_sig;
        state.session = null;
        persist();
        clearConversation();
        showWelcome();
        for (const p of state.pending) pendingNode(p);
      }
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (state.reconnectTimer) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    state.attempt += 1;
    setStatusLine();
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (state.ws || !state.started) return;
    state.attempt = 0;
    connect();
  }

  function disconnect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    const ws = state.ws;
    state.ws = null;
    state.connected = false;
    if (ws) ws.close(1000, 'client closing');
  }

  function sendFrame(frame) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function sendEvent(kind, itemId) {
    const frame = { type: 'event', kind, item_id: itemId };
    if (!sendFrame(frame) && state.outbox.length < 50) state.outbox.push(frame);
  }

  function resumePoint() {
    return state.awaiting.size ? Math.min(state.lastSeq, Math.min(...state.awaiting) - 1) : state.lastSeq;
  }

  function handleFrame(frame) {
    const seq = Number(frame.seq);
    switch (frame.type) {
      case 'ack':
        confirmPending(frame.client_msg_id, seq);
        if (Number.isFinite(seq)) state.awaiting.add(seq);
        break;
      case 'reply':
        renderReply(frame);
        if (frame.in_reply_to != null) state.awaiting.delete(Number(frame.in_reply_to));
        if (frame.answer_state === 'with_person') state.awaiting.delete(seq);
        break;
      case 'status':
        renderStatus(frame);
        break;
      case 'typing':
        if (frame.author !== 'shopper') setTyping(Boolean(frame.active), frame.author);
        break;
      case 'error':
        if (frame.code === 'rate_limited') {
          resendLater(frame.client_msg_id, Number(frame.retry_after_ms) || 1000);
          break;
        }
        // the server failed on a message (a store or bus hiccup): it is idempotent, so send it again
        if (frame.code === 'internal' && frame.client_msg_id && frame.retry_after_ms
            && retryAfterFailure(frame.client_msg_id, Number(frame.retry_after_ms))) break;
        if (MESSAGE_ERRORS.has(frame.code)) failOldestInFlight(ERROR_TEXT[frame.code] || frame.code);
        showToast(ERROR_TEXT[frame.code] || String(frame.detail || 'Something went wrong.'));
        setTyping(false);
        if (frame.code === 'closed') setChatState('closed');
        break;
      default:
        break;
    }
    if (Number.isFinite(seq) && seq > state.lastSeq) state.lastSeq = seq;
  }

  // ---------------------------------------------------------------- user actions

  function send(text) {
    const body = String(text || '').trim();
    if (!body) return false;
    if (body.length > MAX_CHARS) {
      showToast(ERROR_TEXT.too_long);
      return false;
    }
    start();
    // the shopper answered (by button or by typing): earlier quick replies are spent
    for (const b of log.querySelectorAll('.sa-option')) b.disabled = true;
    const pending = { client_msg_id: newId(), text: body, sent: false };
    state.pending.push(pending);
    persist();
    pendingNode(pending);
    scrollToEnd();
    if (sendFrame({ type: 'message', text: body, client_msg_id: pending.client_msg_id })) pending.sent = true;
    if (state.chatState === 'bot') setTyping(true);
    return true;
  }

  function start() {
    if (state.started) return;
    state.started = true;
    showWelcome();
    connect();
  }

  function open() {
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', `Close ${TITLE} chat`);
    shell.classList.add('sa-is-open');
    start();
    scrollToEnd();
    input.focus();
  }

  function close() {
    state.open = false;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', `Open ${TITLE} chat`);
    shell.classList.remove('sa-is-open');
    launcher.focus();
  }

  /** Leave the current conversation and start a new one (optionally as a demo customer). */
  async function restart(customerId, customerSig) {
    disconnect();
    state.generation += 1;
    state.creating = null;
    state.session = null;
    state.pending = [];
    persist();
    clearConversation();
    state.started = true;
    try {
      await createSession(customerId || null, customerSig || null);
    } catch (error) {
      if (error.superseded) return publicSession(); // a later sign-in or sign-out won
      const refusal = { 403: 'The shop could not confirm who you are.', 404: 'That customer does not exist.' };
      showToast(refusal[error.status] || 'Could not reach the shop. Retrying…');
      if (refusal[error.status]) throw error;
    }
    showWelcome();
    setStatusLine();
    connect();
    return publicSession();
  }

  // ---------------------------------------------------------------- privacy

  function authorised(path, method, body) {
    return fetch(`${SERVER}/api/sessions/${encodeURIComponent(state.session.session_id)}${path}`, {
      method,
      headers: { Authorization: `Bearer ${state.session.token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function setActivity(allowed) {
    state.activity = allowed;
    persist();
    if (!state.session) return; // sent with the session when it is created
    try {
      const response = await authorised('/consent', 'PUT', { activity: allowed });
      if (!response.ok) throw new Error(String(response.status));
    } catch (_) {
      showToast('Could not save your choice. Please try again.');
    }
  }

  async function syncActivity() {
    if (!state.session) return;
    try {
      const response = await authorised('/consent', 'GET');
      if (response.ok) activitySwitch.checked = (await response.json()).activity;
    } catch (_) { /* offline: the switch keeps its last value */ }
  }

  let deleteArmed = null;
  async function deleteConversation() {
    if (!deleteArmed) { // a second click confirms (no blocking dialog)
      deleteButton.textContent = 'Click again to delete everything';
      deleteButton.classList.add('sa-armed');
      deleteArmed = setTimeout(() => {
        deleteArmed = null;
        deleteButton.textContent = 'Delete conversation';
        deleteButton.classList.remove('sa-armed');
      }, 5000);
      return;
    }
    clearTimeout(deleteArmed);
    deleteArmed = null;
    deleteButton.textContent = 'Delete conversation';
    deleteButton.classList.remove('sa-armed');
    if (!state.session) return;
    try {
      const response = await authorised('', 'DELETE');
      if (!response.ok) throw new Error(String(response.status));
    } catch (_) {
      showToast('Could not delete the conversation. Please try again.');
      return;
    }
    await restart(state.session.customer_id);
    showToast('Your conversation has been deleted.');
  }

  function publicSession() {
    const s = state.session;
    return s ? { session_id: s.session_id, customer_id: s.customer_id, customer_name: s.customer_name } : null;
  }

  launcher.addEventListener('click', () => (state.open ? close() : open()));
  activitySwitch.addEventListener('change', () => setActivity(activitySwitch.checked));
  deleteButton.addEventListener('click', deleteConversation);
  closeButton.addEventListener('click', close);
  humanButton.addEventListener('click', () => {
    start();
    if (sendFrame({ type: 'handoff_request' })) {
      humanButton.disabled = true;
      setTyping(false);
    } else {
      showToast('Not connected yet. Please try again in a moment.');
    }
  });
  endButton.addEventListener('click', () => {
    if (sendFrame({ type: 'close' })) {
      endButton.disabled = true; // the status frame `closed` then offers the stars
      setTyping(false);
    } else {
      showToast('Not connected yet. Please try again in a moment.');
    }
  });
  compose.addEventListener('submit', (event) => {
    event.preventDefault();
    if (send(input.value)) {
      input.value = '';
      autosize();
    }
    input.focus();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  let lastTypingSent = 0;
  input.addEventListener('input', () => {
    autosize();
    const now = Date.now();
    if (state.chatState === 'with_agent' && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      sendFrame({ type: 'typing', active: true });
    }
  });
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') reconnectNow();
  });

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  }

  function mount() {
    document.body.append(host);
    // a stored conversation (or unsent messages) resumes at once; a new one starts on first open
    if (state.session || state.pending.length) {
      start();
      for (const p of state.pending) pendingNode(p);
    }
    if (START_OPEN) open();
    activitySwitch.checked = state.activity !== false;
    syncActivity();
    setStatusLine();
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  window.Shopassist = {
    version: '1',
    server: SERVER,
    open,
    close,
    toggle: () => (state.open ? close() : open()),
    send: (text) => { open(); return send(text); },
    signIn: (customerId, customerSig) => restart(customerId, customerSig),
    signOut: () => restart(null),
    session: publicSession,
  };
})();
