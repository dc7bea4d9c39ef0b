// Ruralshop's offline counter (orders/offline_views.py): the catalog and the station's villagers kept in the
// browser, orders queued there with their idempotency keys, sent one by one when the link returns.
// No framework; no inline script (the page's words come in a JSON data block).
(function () {
  "use strict";
  var root = document.getElementById("counter") || document.getElementById("counter-sync");
  if (!root || !window.indexedDB) {
    return;
  }
  var full = root.id === "counter"; // the counter page; "counter-sync" (the new-order page) only keeps the copy
  var T = {};
  var stringsNode = document.getElementById("counter-strings");
  if (stringsNode) {
    T = JSON.parse(stringsNode.textContent);
  }
  function fmt(text, vars) {
    return String(text || "").replace(/%\((\w+)\)s/g, function (_, name) {
      return vars[name];
    });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else if (name === "class") {
        node.className = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(child);
      }
    });
    return node;
  }
  function fen(yuan) {
    return Math.round(parseFloat(yuan) * 100);
  }
  function yuan(fens) {
    return (fens / 100).toFixed(2);
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) {
      return "off-" + crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "off-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // --- IndexedDB: "data" (the kept copies, by name) and "queue" (orders taken, in the order taken) ---------
  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("ruralshop-counter", 1);
    open.onupgradeneeded = function () {
      var db = open.result;
      db.createObjectStore("data", { keyPath: "name" });
      var queue = db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      queue.createIndex("key", "key", { unique: true });
    };
    open.onsuccess = function () {
      resolve(open.result);
    };
    open.onerror = function () {
      reject(open.error);
    };
  });
  function store(name, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result;
        var request = work(tx.objectStore(name));
        if (request) {
          request.onsuccess = function () {
            result = request.result;
          };
        }
        tx.oncomplete = function () {
          resolve(result);
        };
        tx.onerror = tx.onabort = function () {
          reject(tx.error);
        };
      });
    });
  }
  function getOne(name, key) {
    return store(name, "readonly", function (s) {
      return s.get(key);
    });
  }
  function getAll(name) {
    return store(name, "readonly", function (s) {
      return s.getAll();
    });
  }
  function putOne(name, value) {
    return store(name, "readwrite", function (s) {
      return s.put(value);
    });
  }
  function deleteOne(name, key) {
    return store(name, "readwrite", function (s) {
      return s.delete(key);
    });
  }

  // --- the kept copy: refreshed whenever the link is up (an unchanged copy costs a 304) ------------------
  var copies = { catalog: null, villagers: null };
  function refresh(name, url) {
    return getOne("data", name).then(function (kept) {
      var headers = kept && kept.etag ? { "If-None-Match": kept.etag } : {};
      return fetch(url, { credentials: "same-origin", headers: headers, cache: "no-store" })
        .then(function (response) {
          if (response.status === 304 && kept) {
            return kept;
          }
          if (!response.ok) {
            return kept;
          }
          return response.json().then(function (body) {
            var fresh = { name: name, etag: response.headers.get("ETag"), as_of: body.as_of, body: body };
            return putOne("data", fresh).then(function () {
              return fresh;
            });
          });
        })
        .catch(function () {
          return kept;
        });
    }).then(function (copy) {
      copies[name] = copy || null;
      return copy;
    });
  }
  function refreshAll() {
    return Promise.all([
      refresh("catalog", root.dataset.catalog),
      refresh("villagers", root.dataset.villagers),
    ]).then(showAge);
  }
  function showAge() {
    var node = document.getElementById("copy-age");
    if (!node) {
      return;
    }
    var copy = copies.catalog;
    node.textContent = copy && copy.as_of
      ? fmt(T.copy_age, { when: new Date(copy.as_of).toLocaleString() })
      : T.no_copy;
  }

  // --- the link, and the banner ----------------------------------------------------------------------
  var linkUp = navigator.onLine;
  function setLink(up) {
    linkUp = up;
    render();
  }
  window.addEventListener("online", function () {
    setLink(true);
    refreshAll();
    sendAll();
  });
  window.addEventListener("offline", function () {
    setLink(false);
  });

  // --- sending: one tab at a time (a lock in the browser), in the order taken, each with its own key -------
  var LOCK = "ruralshop-counter-send";
  var sending = false;
  function sendOne(entry) {
    var body = Object.assign({}, entry.body, {
      expected_total: entry.expected_total || entry.shown_total,
      taken_at: entry.taken_at,
    });
    return fetch(root.dataset.orders, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": entry.key, "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }
  function settle(entry, answer) {
    var data = answer.data || {};
    if (answer.status === 200 || answer.status === 201) {
      entry.status = "placed";
      entry.number = data.number;
      entry.total = data.total;
      entry.pickup_code = data.pickup_code || "";
    } else if (answer.status === 409 && data.code === "price_changed") {
      entry.status = "price";
      entry.new_total = data.total;
    } else if (answer.status === 409) {
      entry.status = "short";
      entry.reason = data.detail || "";
      entry.short = data.short_lines || [];
    } else if (answer.status === 400 || answer.status === 422) {
      entry.status = "refused";
      entry.reason = data.detail || Object.keys(data).map(function (k) {
        return k + ": " + [].concat(data[k]).join(" ");
      }).join("; ");
    } else {
      return false; // logged out, throttled or a server error: it stays queued and is sent again later
    }
    return true;
  }
  function sendQueued() {
    return getAll("queue").then(function (entries) {
      var waiting = entries.filter(function (e) {
        return e.status === "waiting";
      }).sort(function (a, b) {
        return a.seq - b.seq;
      });
      var chain = Promise.resolve(true);
      waiting.forEach(function (entry) {
        chain = chain.then(function (goOn) {
          if (!goOn) {
            return false;
          }
          // read again inside the lock: another tab may have sent it meanwhile
          return getOne("queue", entry.seq).then(function (fresh) {
            if (!fresh || fresh.status !== "waiting") {
              return true;
            }
            return sendOne(fresh).then(function (answer) {
              if (answer.status === 401 || answer.status === 403) {
                loggedOut = true;
                return false;
              }
              if (!settle(fresh, answer)) {
                return false;
              }
              loggedOut = false;
              return putOne("queue", fresh).then(function () {
                render();
                return true;
              });
            }, function () {
              setLink(false); // the request did not come back: the link is down (it may have arrived: the key decides)
              return false;
            });
          });
        });
      });
      return chain;
    });
  }
  var loggedOut = false;
  function sendAll() {
    if (sending) {
      return Promise.resolve();
    }
    sending = true;
    render();
    var run = function () {
      return sendQueued();
    };
    var done = navigator.locks ? navigator.locks.request(LOCK, run) : run();
    return Promise.resolve(done).catch(function () {}).then(function () {
      sending = false;
      render();
    });
  }
  setInterval(function () {
    if (queue.some(function (e) {
      return e.status === "waiting";
    })) {
      sendAll();
    }
  }, 15000);

  // --- the counter page: villager, products, cart, taking the order, the queue ---------------------------
  var queue = [];
  var chosen = { villager: null, lines: {} };
  function render() {
    if (!full) {
      return;
    }
    getAll("queue").then(function (entries) {
      queue = entries.sort(function (a, b) {
        return a.seq - b.seq;
      });
      var waiting = queue.filter(function (e) {
        return e.status === "waiting";
      }).length;
      var banner = document.getElementById("link-state");
      var text = linkUp ? T.online : T.offline;
      if (waiting) {
        text += " " + fmt(T.waiting, { n: waiting });
      }
      if (sending && linkUp && waiting) {
        text = T.sending;
      }
      if (loggedOut && waiting) {
        text += " " + T.login;
      }
      banner.textContent = text;
      banner.className = "banner no-print " + (linkUp ? "banner-online" : "banner-offline");
      renderQueue();
    });
  }
  function button(text, onClick, primary) {
    var node = el("button", { type: "button", text: text, class: primary ? "primary" : "" });
    node.addEventListener("click", onClick);
    return node;
  }
  function renderQueue() {
    var list = document.getElementById("queue");
    document.getElementById("queue-card").hidden = queue.length === 0;
    list.textContent = "";
    queue.forEach(function (entry) {
      var state;
      var actions = [];
      if (entry.status === "placed") {
        state = fmt(T.placed, { number: entry.number });
        var slip = el("a", { class: "button primary", text: T.slip,
          href: root.dataset.receipt.replace("NUMBER", entry.number) });
        actions.push(slip, button(T.done, function () {
          deleteOne("queue", entry.seq).then(render);
        }));
      } else if (entry.status === "price") {
        state = fmt(T.price, { old: entry.expected_total || entry.shown_total, new: entry.new_total });
        actions.push(button(T.accept, function () {
          entry.expected_total = entry.new_total;
          entry.status = "waiting";
          putOne("queue", entry).then(sendAll);
        }, true), button(T.cancel, function () {
          deleteOne("queue", entry.seq).then(render);
        }));
      } else if (entry.status === "short") {
        state = T.short;
        actions.push(button(T.change, function () {
          loadIntoCart(entry);
          deleteOne("queue", entry.seq).then(render);
        }, true), button(T.cancel, function () {
          deleteOne("queue", entry.seq).then(render);
        }));
      } else if (entry.status === "refused") {
        state = fmt(T.refused, { reason: entry.reason });
        // the reason can be long: the pill says refused, the line below says why
        actions.push(button(T.remove, function () {
          deleteOne("queue", entry.seq).then(render);
        }));
      } else {
        state = T.queued;
      }
      var what = entry.lines_display.map(function (l) {
        return l.name + " × " + l.quantity;
      }).join(", ");
      var shortLines = (entry.short || []).map(function (s) {
        return el("li", { text: s.name + " (" + s.sku + "): " + s.requested + " / " + fmt(T.available, { n: s.available }) });
      });
      list.appendChild(el("li", { class: "queued queued-" + entry.status, "data-key": entry.key }, [
        el("div", { class: "heading" }, [
          el("strong", { text: entry.villager_name + " · ¥" + (entry.total || entry.shown_total) }),
          el("span", { class: "status status-" + entry.status, text: state }),
        ]),
        el("small", { class: "muted", text: what + " · " + T.reference + " " + entry.key.slice(4, 12) + " · "
          + new Date(entry.taken_at).toLocaleString() }),
        entry.status === "short" && entry.reason ? el("p", { class: "error", text: entry.reason }) : null,
        shortLines.length ? el("ul", { class: "plain" }, shortLines) : null,
        actions.length ? el("div", { class: "inline" }, actions) : null,
      ]));
    });
  }
  function villagers() {
    return copies.villagers && copies.villagers.body ? copies.villagers.body.villagers : [];
  }
  function products() {
    return copies.catalog && copies.catalog.body ? copies.catalog.body.products : [];
  }
  function product(sku) {
    return products().filter(function (p) {
      return p.sku === sku;
    })[0];
  }
  function matches(text, query) {
    return query.toLowerCase().split(/\s+/).filter(Boolean).every(function (word) {
      return text.toLowerCase().indexOf(word) >= 0;
    });
  }
  function searchVillagers() {
    var q = document.getElementById("villager-q").value.trim();
    var list = document.getElementById("villager-results");
    list.textContent = "";
    if (!q) {
      return;
    }
    var found = villagers().filter(function (v) {
      return matches(v.name + " " + (v.phone || ""), q);
    }).slice(0, 8);
    if (!found.length) {
      list.appendChild(el("li", { class: "muted", text: T.nothing_found }));
    }
    found.forEach(function (v) {
      list.appendChild(el("li", {}, [button(v.name + (v.phone ? " · " + v.phone : ""), function () {
        chooseVillager(v);
      })]));
    });
  }
  function chooseVillager(v) {
    chosen.villager = v;
    var node = document.getElementById("villager-chosen");
    node.hidden = false;
    node.textContent = "✓ " + v.name + (v.phone ? " · " + v.phone : "");
    document.getElementById("villager-results").textContent = "";
    document.getElementById("villager-q").value = "";
  }
  function searchProducts() {
    var q = document.getElementById("product-q").value.trim();
    var list = document.getElementById("product-results");
    list.textContent = "";
    if (!q) {
      return;
    }
    var found = products().filter(function (p) {
      return matches([p.name, p.sku, p.category || "", p.search || ""].join(" "), q);
    }).slice(0, 10);
    if (!found.length) {
      list.appendChild(el("li", { class: "muted", text: T.nothing_found }));
    }
    found.forEach(function (p) {
      list.appendChild(el("li", {}, [
        el("span", { class: "row-main", text: p.name + " · ¥" + p.price + " · " + fmt(T.available, { n: p.available }) }),
        button(T.add, function () {
          addLine(p.sku, 1);
        }),
      ]));
    });
  }
  function addLine(sku, quantity) {
    chosen.lines[sku] = (chosen.lines[sku] || 0) + quantity;
    renderCart();
  }
  function renderCart() {
    var body = document.getElementById("cart-lines");
    body.textContent = "";
    var total = 0;
    Object.keys(chosen.lines).forEach(function (sku) {
      var p = product(sku);
      var qty = chosen.lines[sku];
      if (!p || qty < 1) {
        delete chosen.lines[sku];
        return;
      }
      var lineFen = fen(p.price) * qty;
      total += lineFen;
      var input = el("input", { type: "number", min: "1", max: "999", value: String(qty), inputmode: "numeric",
        "aria-label": p.name, class: "qty" });
      input.addEventListener("input", function () {
        var n = parseInt(input.value, 10);
        if (n > 0) {
          chosen.lines[sku] = n;
          document.getElementById("cart-total").textContent = yuan(cartFen());
        }
      });
      body.appendChild(el("tr", { "data-sku": sku }, [
        el("td", { text: p.name }),
        el("td", { class: "num" }, [input]),
        el("td", { class: "num", text: "¥" + yuan(lineFen) }),
        el("td", {}, [button(T.remove, function () {
          delete chosen.lines[sku];
          renderCart();
        })]),
      ]));
    });
    document.getElementById("cart").hidden = total === 0;
    document.getElementById("cart-total").textContent = yuan(total);
  }
  function cartFen() {
    return Object.keys(chosen.lines).reduce(function (sum, sku) {
      var p = product(sku);
      return sum + (p ? fen(p.price) * chosen.lines[sku] : 0);
    }, 0);
  }
  function loadIntoCart(entry) {
    chosen.lines = {};
    entry.body.lines.forEach(function (line) {
      chosen.lines[line.sku] = line.quantity;
    });
    var v = villagers().filter(function (x) {
      return x.id === entry.body.villager;
    })[0];
    if (v) {
      chooseVillager(v);
    }
    renderCart();
  }
  function provisionalSlip(entry) {
    var slip = document.getElementById("provisional");
    slip.textContent = "";
    slip.appendChild(el("h1", { text: T.provisional }));
    slip.appendChild(el("p", { text: T.reference + " " + entry.key.slice(4, 12) + " · "
      + new Date(entry.taken_at).toLocaleString() }));
    slip.appendChild(el("p", { text: entry.villager_name }));
    slip.appendChild(el("ul", { class: "plain" }, entry.lines_display.map(function (l) {
      return el("li", { text: l.name + " × " + l.quantity + "  ¥" + l.line_total });
    })));
    slip.appendChild(el("p", {}, [el("strong", { text: "¥" + entry.shown_total })]));
    slip.appendChild(el("p", { text: T.wait_for_code }));
  }
  function takeOrder(event) {
    event.preventDefault();
    var error = document.getElementById("take-error");
    error.hidden = true;
    error.className = "error";
    var skus = Object.keys(chosen.lines);
    if (!chosen.villager || !skus.length) {
      error.textContent = chosen.villager ? T.need_lines : T.need_villager;
      error.hidden = false;
      return;
    }
    var entry = {
      key: newKey(),
      taken_at: new Date().toISOString(), // the device's clock, as it says: the server records it, and decides
      status: "waiting",
      body: {
        villager: chosen.villager.id,
        lines: skus.map(function (sku) {
          return { sku: sku, quantity: chosen.lines[sku] };
        }),
        delivery_method: document.getElementById("delivery").value,
        payment_method: document.getElementById("payment").value,
        notes: document.getElementById("notes").value,
      },
      shown_total: yuan(cartFen()),
      villager_name: chosen.villager.name,
      lines_display: skus.map(function (sku) {
        var p = product(sku);
        return { name: p.name, quantity: chosen.lines[sku], line_total: yuan(fen(p.price) * chosen.lines[sku]) };
      }),
    };
    putOne("queue", entry).then(function () {
      provisionalSlip(entry);
      chosen = { villager: null, lines: {} };
      document.getElementById("villager-chosen").hidden = true;
      document.getElementById("product-q").value = "";
      document.getElementById("product-results").textContent = "";
      document.getElementById("notes").value = "";
      renderCart();
      error.textContent = T.taken;
      error.className = "notice";
      error.hidden = false;
      render();
      window.print();
      if (linkUp) {
        sendAll();
      }
    });
  }

  if (navigator.serviceWorker && root.dataset.worker) {
    navigator.serviceWorker.register(root.dataset.worker, { scope: "/orders/" }).catch(function () {});
  }
  if (full) {
    document.getElementById("villager-q").addEventListener("input", searchVillagers);
    document.getElementById("product-q").addEventListener("input", searchProducts);
    document.getElementById("take").addEventListener("submit", takeOrder);
    Promise.all([getOne("data", "catalog"), getOne("data", "villagers")]).then(function (kept) {
      copies.catalog = kept[0] || null;
      copies.villagers = kept[1] || null;
      showAge();
      render();
      if (linkUp) {
        refreshAll().then(sendAll);
      }
    });
  } else if (linkUp) {
    refreshAll().then(sendAll);
  }
})();
