// The demo shop page (web/index.html), loaded after the widget: product tiles, the cart counter, demo sign-in.
(() => {
  'use strict';
  const products = [
    ['Heavy-duty black stapler', 18.99, '#e8eefc', '#2357d9'],
    ['Gel pens, 12 colours', 9.49, '#fff1d6', '#b26b00'],
    ['A4 copy paper, 500 sheets', 6.99, '#eef7ee', '#1f7a3f'],
    ['Bamboo desk organiser', 24.5, '#f6e8ff', '#7a3fb2'],
    ['Sticky notes, 6 pads', 5.25, '#fffbd1', '#8a7300'],
    ['Cross-cut paper shredder', 79.0, '#e6f4f9', '#1f6b86'],
  ];
  const grid = document.getElementById('product-grid');
  const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  for (const [title, price, tint, ink] of products) {
    const card = document.createElement('article');
    card.className = 'product';
    const art = document.createElement('div');
    art.className = 'art';
    art.style.background = tint;
    art.style.color = ink;
    art.textContent = title.split(/[ ,-]+/).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
    art.setAttribute('aria-hidden', 'true');
    const name = document.createElement('h3');
    name.textContent = title;
    const cost = document.createElement('div');
    cost.className = 'price';
    cost.textContent = money.format(price);
    const ask = document.createElement('button');
    ask.type = 'button';
    ask.textContent = 'Ask about this';
    ask.addEventListener('click', () => window.Shopassist.send(`Do you have a ${title.toLowerCase()}?`));
    card.append(art, name, cost, ask);
    grid.append(card);
  }

  document.getElementById('ask').addEventListener('click', () => window.Shopassist.open());

  const cartCount = document.getElementById('cart-count');
  window.addEventListener('shopassist:add_to_cart', () => {
    cartCount.textContent = String(Number(cartCount.textContent) + 1);
  });

  const select = document.getElementById('demo-customer');
  const signIn = document.getElementById('sign-in');
  const signOut = document.getElementById('sign-out');
  const who = document.getElementById('who');
  function showWho(session) {
    const name = session && (session.customer_name || session.customer_id);
    who.textContent = name ? `Signed in as ${name}` : 'Browsing as a guest';
    signOut.hidden = !name;
  }
  showWho(window.Shopassist.session());
  window.addEventListener('shopassist:session', (event) => showWho(event.detail));

  fetch(`${window.Shopassist.server}/api/demo/customers`)
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then((customers) => {
      select.replaceChildren();
      for (const customer of customers) {
        const option = document.createElement('option');
        option.value = customer.id;
        option.textContent = customer.name ? `${customer.name} (${customer.id})` : customer.id;
        select.append(option);
      }
      select.disabled = signIn.disabled = customers.length === 0;
    })
    .catch(() => {
      select.replaceChildren(new Option('no demo customers', ''));
    });

  signIn.addEventListener('click', async () => {
    if (!select.value) return;
    signIn.disabled = true;
    try {
      await window.Shopassist.signIn(select.value);
      window.Shopassist.open();
    } catch (_) {
      who.textContent = 'Sign-in failed';
    } finally {
      signIn.disabled = false;
    }
  });
  signOut.addEventListener('click', () => window.Shopassist.signOut());
})();
