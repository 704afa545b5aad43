/* dscourse trace player (ds.viz.replay): a recorded run replayed without a kernel.
 * Vanilla JavaScript and SVG, no network. Defined once per page; each player's root element
 * carries data-dscourse-player and holds its trace as JSON in a script element of class dsp-data.
 * Topic panels register with DSCoursePlayer.panel(name, {render(ctx, el)}).
 * MIT licence, part of the dscourse package. */
(function () {
  "use strict";
  if (window.DSCoursePlayer) return;
  var SVGNS = "http://www.w3.org/2000/svg";
  var panels = {};

  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    return fill(el, attrs, kids);
  }
  function s(tag, attrs, kids) {
    var el = document.createElementNS(SVGNS, tag);
    return fill(el, attrs, kids);
  }
  function fill(el, attrs, kids) {
    if (attrs) for (var k in attrs) {
      if (attrs[k] === null || attrs[k] === undefined) continue;
      if (k === "text") el.textContent = attrs[k];
      else if (k === "on") for (var ev in attrs.on) el.addEventListener(ev, attrs.on[ev]);
      else el.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }
  function fmt(v) {
    if (v === undefined) return "";
    var t = typeof v === "string" ? v : JSON.stringify(v);
    return t.length > 48 ? t.slice(0, 45) + "..." : t;
  }
  function ms(us) { return Math.round(us / 10) / 100; }

  /* -- the trace model ------------------------------------------------------------------ */
  function Model(d) {
    this.d = d;
    this.rows = d.ev;
    this.base = d.window.start;
    this.kind = d.kinds;
    var msgs = {}, order = [];
    var self = this;
    d.init.flying.forEach(function (f) {
      msgs[f[0]] = { id: f[0], src: d.nodes.indexOf(f[1]), dst: d.nodes.indexOf(f[2]), label: f[3],
                     sent: f[4], sendJ: -1, data: f[5], ends: [], dups: 0 };
      order.push(msgs[f[0]]);
    });
    this.rows.forEach(function (r, j) {
      var k = self.kind[r[1]], m;
      if (k === "send") {
        m = msgs[r[4]] = { id: r[4], src: r[2], dst: r[3], label: d.labels[r[5]], sent: r[0], sendJ: j,
                           data: self.value(r[6]), ends: [], dups: 0 };
        order.push(m);
      } else if ((k === "deliver" || k === "drop" || k === "duplicate") && msgs[r[4]]) {
        m = msgs[r[4]];
        if (k === "duplicate") m.dups += 1;
        else m.ends.push({ t: r[0], j: j, drop: k === "drop",
                           reason: k === "drop" ? (self.value(r[6]) || {}).reason : null });
      }
    });
    this.msgs = msgs;
    this.order = order;
  }
  Model.prototype.value = function (ref) { return ref < 0 ? null : this.d.values[ref]; };
  Model.prototype.node = function (ix) { return ix < 0 ? null : this.d.nodes[ix]; };

  /* The generic state after the first n rows (annotations, faults, timers, messages in flight). */
  function State(model) {
    var init = model.d.init;
    this.n = 0;
    this.state = {};
    for (var k in init.state) this.state[k] = Object.assign({}, init.state[k]);
    this.down = Object.assign({}, init.down);
    this.groups = init.groups.map(function (g) { return g.slice(); });
    this.cut = init.cut.map(function (c) { return c[0] + ">" + c[1]; });
    this.timers = {};
    var self = this;
    init.timers.forEach(function (t) { self.timers[t[0]] = { node: t[1], name: t[2], set: t[3], at: t[4] }; });
    this.flying = {};
    init.flying.forEach(function (f) { self.flying[f[0]] = f[6]; });
    this.sent = {};          // messages each node sent / received inside the player's window
    this.recv = {};
    this.t = model.d.t0;
  }
  State.prototype.apply = function (model, r) {
    var k = model.kind[r[1]], node = model.node(r[2]), v;
    this.t = r[0];
    if (k === "annotate") {
      v = model.value(r[6]);
      if (v && typeof v === "object") this.state[node] = Object.assign({}, this.state[node] || {}, v);
    } else if (k === "crash" || k === "pause") {
      this.down[node] = k;
      if (k === "crash") for (var h in this.timers) if (this.timers[h].node === node) delete this.timers[h];
    } else if (k === "recover" || k === "resume") {
      delete this.down[node];
    } else if (k === "partition") {
      v = model.value(r[6]);
      this.groups = (Array.isArray(v) ? v : (v && v.groups) || []).map(function (g) { return g.slice(); });
    } else if (k === "cut") {
      this.cut.push(node + ">" + model.node(r[3]));
    } else if (k === "heal") {
      this.groups = []; this.cut = [];
    } else if (k === "timer_set") {
      v = model.value(r[6]) || [null, null];
      this.timers[r[4]] = { node: node, name: model.d.labels[r[5]], set: r[0], at: v[0] };
    } else if (k === "timer_fire" || k === "timer_cancel") {
      delete this.timers[r[4]];
    } else if (k === "send") {
      this.flying[r[4]] = 1;
      this.sent[node] = (this.sent[node] || 0) + 1;
    } else if (k === "duplicate") {
      this.flying[r[4]] = (this.flying[r[4]] || 0) + 1;
    } else if (k === "deliver" || k === "drop") {
      if (k === "deliver") this.recv[node] = (this.recv[node] || 0) + 1;
      if (this.flying[r[4]] !== undefined && --this.flying[r[4]] <= 0) delete this.flying[r[4]];
    }
    this.n += 1;
  };
  State.prototype.clone = function () {
    var c = Object.create(State.prototype);
    c.n = this.n; c.t = this.t;
    c.state = {};
    for (var k in this.state) c.state[k] = Object.assign({}, this.state[k]);
    c.down = Object.assign({}, this.down);
    c.groups = this.groups.map(function (g) { return g.slice(); });
    c.cut = this.cut.slice();
    c.timers = Object.assign({}, this.timers);
    c.flying = Object.assign({}, this.flying);
    c.sent = Object.assign({}, this.sent);
    c.recv = Object.assign({}, this.recv);
    return c;
  };

  /* -- the player ----------------------------------------------------------------------- */
  function Player(root) {
    var d = JSON.parse(root.querySelector("script.dsp-data").textContent);
    this.root = root;
    this.d = d;
    this.m = new Model(d);
    this.N = this.m.rows.length;
    this.cache = [new State(this.m)];     // checkpoints every 256 events, for fast scrubbing
    this.cur = null;
    this.playing = null;
    this.speed = 1;
    this.selected = null;
    this.build();
    this.go(this.N);
  }

  Player.prototype.stateAt = function (n) {
    var every = 256, slot = Math.floor(n / every), st;
    while (this.cache.length <= slot) {
      st = this.cache[this.cache.length - 1].clone();
      for (var j = st.n; j < this.cache.length * every && j < this.N; j++) st.apply(this.m, this.m.rows[j]);
      this.cache.push(st);
    }
    st = this.cache[slot].clone();
    for (var i = st.n; i < n; i++) st.apply(this.m, this.m.rows[i]);
    return st;
  };

  Player.prototype.build = function () {
    var self = this, d = this.d, root = this.root;
    Array.prototype.forEach.call(root.querySelectorAll(".dsp-pending"), function (p) { p.remove(); });
    var title = d.title ? h("div", { "class": "dsp-title", text: d.title }) : null;
    this.slider = h("input", { type: "range", min: 0, max: this.N, step: 1, value: this.N,
                               "class": "dsp-slider", "aria-label": "position in the trace (events)",
                               on: { input: function () { self.stop(); self.go(+self.slider.value); } } });
    function btn(act, label, aria) {
      return h("button", { type: "button", "data-act": act, "aria-label": aria, title: aria, text: label,
                           on: { click: function () { self.act(act); } } });
    }
    this.playBtn = btn("play", "\u25B6 play", "play / pause");
    var speed = h("select", { "class": "dsp-speed", "aria-label": "playback speed",
                              on: { change: function () { self.speed = +speed.value; } } },
      [0.25, 0.5, 1, 2, 4, 8].map(function (x) {
        var o = h("option", { value: x, text: x + "\u00D7" });
        if (x === 1) o.selected = true;
        return o;
      }));
    this.clock = h("span", { "class": "dsp-clock", "aria-live": "off" });
    var controls = h("div", { "class": "dsp-controls" }, [
      btn("start", "|\u25C0", "go to the start"), btn("back", "\u25C0 step", "step back one event"),
      this.playBtn, btn("step", "step \u25B6", "step to the next event"), btn("end", "\u25B6|", "go to the end"),
      speed, this.slider, this.clock]);
    var info = (d.seed === null ? "seed not recorded" : "seed " + d.seed) + (d.digest ? " \u00B7 trace " + d.digest : "") +
      " \u00B7 " + d.window.total + " events";
    var foot = h("div", { "class": "dsp-foot" }, [h("span", { text: info })]);
    if (d.note) foot.appendChild(h("div", { "class": "dsp-note", text: "Windowed: " + d.note }));
    var views = h("div", { "class": "dsp-views" });
    if (d.view !== "cluster") {
      this.st = h("div", { "class": "dsp-spacetime" });
      views.appendChild(this.st);
      this.drawSpacetime();
    }
    if (d.view !== "spacetime") {
      this.cl = h("div", { "class": "dsp-cluster" });
      views.appendChild(this.cl);
    }
    this.statePane = h("div", { "class": "dsp-state" });
    this.detail = h("pre", { "class": "dsp-detail", text: "Click a message or an event to see its payload." });
    this.panelEls = d.panels.map(function (p) {
      var body = h("div", { "class": "dsp-panel-body" });
      var box = h("div", { "class": "dsp-panel", "data-panel": p.name }, [h("div", { "class": "dsp-h", text: p.title }), body]);
      return { spec: p, el: body, box: box };
    });
    var side = h("div", { "class": "dsp-side" }, [this.statePane, this.detail]);
    var frag = [title, controls, views, h("div", { "class": "dsp-lower" },
      [h("div", { "class": "dsp-panels" }, this.panelEls.map(function (p) { return p.box; })), side]), foot];
    frag.forEach(function (el) { if (el) root.appendChild(el); });
    root.addEventListener("keydown", function (e) {
      if (e.target === self.slider) return;
      if (e.key === "ArrowRight") { self.act("step"); e.preventDefault(); }
      if (e.key === "ArrowLeft") { self.act("back"); e.preventDefault(); }
    });
  };

  Player.prototype.act = function (a) {
    if (a === "play") { if (this.playing) this.stop(); else this.play(); return; }
    this.stop();
    if (a === "start") this.go(0);
    else if (a === "end") this.go(this.N);
    else if (a === "step") this.go(Math.min(this.N, this.cur.n + 1));
    else if (a === "back") this.go(Math.max(0, this.cur.n - 1));
  };

  Player.prototype.play = function () {
    var self = this, d = this.d;
    if (this.cur.n >= this.N) this.go(0);
    var span = Math.max(1, d.t1 - d.t0), vt = this.cur.t, last = Date.now();
    this.playBtn.textContent = "\u23F8 pause";
    this.root.setAttribute("data-playing", "1");
    function tick() {
      var now = Date.now(), n = self.cur.n;
      vt += (now - last) * span / 15000 * self.speed;   // the whole run in 15 s at 1x
      last = now;
      while (n < self.N && self.m.rows[n][0] <= vt) n++;
      if (n === self.cur.n && n < self.N && self.m.rows[n][0] - vt > span / 30) vt = self.m.rows[n][0];
      self.go(n);
      if (n >= self.N) { self.stop(); return; }
      self.playing = setTimeout(tick, 50);
    }
    this.playing = setTimeout(tick, 50);
  };
  Player.prototype.stop = function () {
    if (this.playing) clearTimeout(this.playing);
    this.playing = null;
    this.playBtn.textContent = "\u25B6 play";
    this.root.removeAttribute("data-playing");
  };

  Player.prototype.go = function (n) {
    this.cur = this.stateAt(n);
    this.slider.value = n;
    var d = this.d, r = n > 0 ? this.m.rows[n - 1] : null;
    var what = r ? this.m.kind[r[1]] + (r[2] >= 0 ? " " + d.nodes[r[2]] : "") +
      (r[5] >= 0 && this.m.kind[r[1]] !== "annotate" ? " " + d.labels[r[5]] : "") : "start";
    this.clock.textContent = "t = " + ms(this.cur.t) + " ms \u00B7 event " + n + "/" + this.N + " \u00B7 " + what;
    this.root.setAttribute("data-cursor", n);
    if (this.st) this.updateSpacetime();
    if (this.cl) this.drawCluster();
    this.drawState();
    this.drawPanels();
  };

  /* -- space-time diagram --------------------------------------------------------------- */
  Player.prototype.x = function (t) {
    var d = this.d;
    return 14 + (d.t1 > d.t0 ? (t - d.t0) / (d.t1 - d.t0) : 0) * (this.W - 34);
  };
  Player.prototype.y = function (ix) { return 26 + ix * 34; };

  Player.prototype.drawSpacetime = function () {
    var self = this, d = this.d, m = this.m, nodes = d.nodes, C = d.colors;
    this.W = Math.max(720, Math.min(4000, Math.round(this.N * 2.5)));
    var H = this.y(nodes.length - 1) + 30;
    var svg = s("svg", { width: this.W, height: H, viewBox: "0 0 " + this.W + " " + H, role: "img",
                         "aria-label": "space-time diagram: a lane per node, arrows for messages" });
    svg.appendChild(s("defs", {}, [s("marker", { id: this.root.id + "-arr", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, [s("path", { d: "M0,0L10,5L0,10z", fill: "#555" })])]));
    var names = s("svg", { width: 58, height: H, "aria-hidden": "true", "class": "dsp-names" });
    var bands = s("g"), lanes = s("g"), arrows = s("g"), marks = s("g");
    svg.appendChild(bands); svg.appendChild(lanes); svg.appendChild(arrows); svg.appendChild(marks);
    var tEnd = d.t1, st = new State(m), roleSeg = {}, open = {}, part = null, sel = function (o) {
      return function (e) { e.stopPropagation(); self.select(o); };
    };
    nodes.forEach(function (n) {
      roleSeg[n] = [];
      var r0 = (d.init.state[n] || {}).role;
      roleSeg[n].push({ t: d.t0, role: r0 === undefined ? null : r0 });
      if (d.init.down[n]) open[n] = { t: d.t0, kind: d.init.down[n] };
    });
    if (d.init.groups.length) part = { t: d.t0, groups: d.init.groups };
    function band(o, t2) {
      var ix = nodes.indexOf(o.node);
      bands.appendChild(s("rect", { x: self.x(o.t), y: self.y(ix) - 11, width: Math.max(2, self.x(t2) - self.x(o.t)),
        height: 22, fill: o.kind === "crash" ? C.crash : C.pause, opacity: 0.25, "class": "dsp-band-" + o.kind }));
    }
    function partBand(p, t2) {
      var x1 = self.x(p.t), g = s("g", { "class": "dsp-partition" });
      g.appendChild(s("rect", { x: x1, y: 6, width: Math.max(2, self.x(t2) - x1), height: H - 16, fill: C.partition, opacity: 0.22 }));
      g.appendChild(s("text", { x: x1 + 3, y: H - 3, "class": "dsp-small", text: "partition " +
        p.groups.map(function (g) { return g.join(","); }).join(" | ") }));
      bands.appendChild(g);
    }
    m.rows.forEach(function (r, j) {
      var k = m.kind[r[1]], node = m.node(r[2]), v;
      if (k === "annotate") {
        v = m.value(r[6]);
        if (v && v.role !== undefined) roleSeg[node].push({ t: r[0], role: v.role });
        var dot = s("circle", { cx: self.x(r[0]), cy: self.y(r[2]), r: 3.2, "class": "dsp-mark dsp-annot", "data-j": j,
          on: { click: sel({ event: j }) } }, [s("title", { text: node + ": " + fmt(v) })]);
        marks.appendChild(dot);
      } else if (k === "crash" || k === "pause") {
        open[node] = { t: r[0], kind: k, node: node };
        marks.appendChild(s("text", { x: self.x(r[0]) - 4, y: self.y(r[2]) + 4, "class": "dsp-crash", "data-j": j,
          text: k === "crash" ? "\u2716" : "\u2016", on: { click: sel({ event: j }) } }));
      } else if ((k === "recover" || k === "resume") && open[node]) {
        open[node].node = node; band(open[node], r[0]); delete open[node];
      } else if (k === "partition") {
        if (part) partBand(part, r[0]);
        v = m.value(r[6]);
        part = { t: r[0], groups: Array.isArray(v) ? v : (v && v.groups) || [] };
      } else if (k === "heal" && part) {
        partBand(part, r[0]); part = null;
      } else if (k === "timer_fire") {
        marks.appendChild(s("path", { d: "M" + self.x(r[0]) + "," + (self.y(r[2]) - 6) + "v12", "class": "dsp-tick", "data-j": j,
          on: { click: sel({ event: j }) } }, [s("title", { text: node + " timer " + d.labels[r[5]] })]));
      }
    });
    for (var n in open) { open[n].node = n; band(open[n], tEnd); }
    if (part) partBand(part, tEnd);
    nodes.forEach(function (n, ix) {
      var segs = roleSeg[n];
      segs.forEach(function (sg, q) {
        var t2 = q + 1 < segs.length ? segs[q + 1].t : tEnd, col = C.roles[sg.role === null ? "" : sg.role];
        if (sg.role !== null && col) lanes.appendChild(s("rect", { x: self.x(sg.t), y: self.y(ix) - 4,
          width: Math.max(1, self.x(t2) - self.x(sg.t)), height: 8, fill: col, "class": "dsp-role" },
          [s("title", { text: n + ": " + sg.role })]));
      });
      lanes.appendChild(s("line", { x1: self.x(d.t0), x2: self.x(tEnd), y1: self.y(ix), y2: self.y(ix), "class": "dsp-lane" }));
      names.appendChild(s("text", { x: 4, y: self.y(ix) + 4, "class": "dsp-node", text: n }));
    });
    m.order.forEach(function (msg) {
      if (msg.src < 0 || msg.dst < 0) return;
      var col = C.labels[msg.label] || "#555", g = s("g", { "class": "dsp-msg", "data-msg": msg.id,
        on: { click: sel({ msg: msg.id }) } });
      var x1 = self.x(msg.sent), y1 = self.y(msg.src), y2 = self.y(msg.dst);
      var ends = msg.ends.length ? msg.ends : [{ t: tEnd, open: true }];
      ends.forEach(function (e, q) {
        var x2 = self.x(e.t), yy = e.drop ? (y1 + y2) / 2 : y2;
        if (e.drop) x2 = Math.max(x2, x1 + 6);
        var line = s("line", { x1: x1, y1: y1, x2: x2, y2: yy, stroke: col, "class": "dsp-arrow" +
          (q > 0 ? " dsp-dup" : "") + (e.open ? " dsp-open" : ""), "marker-end": e.drop || e.open ? null : "url(#" + self.root.id + "-arr)" });
        g.appendChild(line);
        g.appendChild(s("line", { x1: x1, y1: y1, x2: x2, y2: yy, "class": "dsp-hit" }));
        if (e.drop) g.appendChild(s("text", { x: x2 - 4, y: yy + 4, "class": "dsp-drop", text: "\u00D7" }));
      });
      g.appendChild(s("title", { text: msg.label + " " + d.nodes[msg.src] + "\u2192" + d.nodes[msg.dst] }));
      arrows.appendChild(g);
    });
    this.future = s("rect", { x: this.W, y: 0, width: 0, height: H, "class": "dsp-future" });
    this.cursorLine = s("line", { x1: 0, x2: 0, y1: 4, y2: H - 4, "class": "dsp-cursor" });
    svg.appendChild(this.future);
    svg.appendChild(this.cursorLine);
    this.stSvg = svg;
    this.stScroll = h("div", { "class": "dsp-scroll" }, [svg]);
    this.st.appendChild(names);
    this.st.appendChild(this.stScroll);
  };

  Player.prototype.updateSpacetime = function () {
    var x = this.cur.n === 0 ? this.x(this.d.t0) - 4 : this.x(this.cur.t);
    this.future.setAttribute("x", x + 1);
    this.future.setAttribute("width", Math.max(0, this.W - x));
    this.cursorLine.setAttribute("x1", x);
    this.cursorLine.setAttribute("x2", x);
    var box = this.stScroll;
    if (x < box.scrollLeft + 40 || x > box.scrollLeft + box.clientWidth - 40)
      box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
  };

  /* -- cluster view --------------------------------------------------------------------- */
  Player.prototype.drawCluster = function () {
    var self = this, d = this.d, C = d.colors, cur = this.cur, nodes = d.nodes, W = 340, H = 300;
    var R = Math.min(115, 40 + nodes.length * 14), pos = nodes.map(function (n, i) {
      var a = -Math.PI / 2 + 2 * Math.PI * i / nodes.length;
      return [W / 2 + R * Math.cos(a), H / 2 + R * Math.sin(a)];
    });
    var side = {};
    cur.groups.forEach(function (g, gi) { g.forEach(function (n) { side[n] = gi; }); });
    function blocked(a, b) {
      if (cur.cut.indexOf(a + ">" + b) >= 0) return true;
      return cur.groups.length > 0 && side[a] !== side[b];
    }
    var svg = s("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
                         "aria-label": "cluster view: nodes with role and term, messages in flight" });
    for (var a = 0; a < nodes.length; a++) for (var b = a + 1; b < nodes.length; b++) {
      var bl = blocked(nodes[a], nodes[b]) || blocked(nodes[b], nodes[a]);
      svg.appendChild(s("line", { x1: pos[a][0], y1: pos[a][1], x2: pos[b][0], y2: pos[b][1],
        "class": bl ? "dsp-link dsp-blocked" : "dsp-link" }));
    }
    var t = cur.t;
    Object.keys(cur.flying).forEach(function (id) {
      var msg = self.m.msgs[id];
      if (!msg || msg.src < 0 || msg.dst < 0) return;
      var end = null;
      msg.ends.forEach(function (e) { if (end === null && e.j >= cur.n) end = e; });
      var t2 = end ? end.t : d.t1, f = t2 > msg.sent ? (t - msg.sent) / (t2 - msg.sent) : 0.5;
      f = Math.max(0.08, Math.min(0.92, f));
      var p = pos[msg.src], q = pos[msg.dst];
      svg.appendChild(s("circle", { cx: p[0] + (q[0] - p[0]) * f, cy: p[1] + (q[1] - p[1]) * f, r: 5,
        fill: C.labels[msg.label] || "#555", "class": "dsp-flying" + (end && end.drop ? " dsp-doomed" : ""),
        "data-msg": id, on: { click: function (e) { e.stopPropagation(); self.select({ msg: +id }); } } },
        [s("title", { text: msg.label + " " + nodes[msg.src] + "\u2192" + nodes[msg.dst] })]));
    });
    var palette = ["#4e79a7", "#e15759", "#59a14f", "#b07aa1"];
    nodes.forEach(function (n, i) {
      var st = cur.state[n] || {}, role = st.role === undefined ? null : st.role, down = cur.down[n];
      var g = s("g", { "class": "dsp-nodeg", "data-node": n, on: { click: function () { self.select({ node: n }); } } });
      if (cur.groups.length && side[n] !== undefined)
        g.appendChild(s("circle", { cx: pos[i][0], cy: pos[i][1], r: 31, fill: "none", stroke: palette[side[n] % 4],
          "stroke-width": 3, "stroke-dasharray": "4 3" }));
      g.appendChild(s("circle", { cx: pos[i][0], cy: pos[i][1], r: 25, fill: C.roles[role === null ? "" : role] || "#eee",
        "class": "dsp-nodec" + (down ? " dsp-" + down : "") }));
      g.appendChild(s("text", { x: pos[i][0], y: pos[i][1] - 2, "class": "dsp-nid", text: n }));
      var sub = st.term !== undefined ? "T" + st.term : st.ballot !== undefined ? "b " + fmt(st.ballot) :
        st.epoch !== undefined ? "e" + st.epoch : (role || "");
      g.appendChild(s("text", { x: pos[i][0], y: pos[i][1] + 11, "class": "dsp-nsub", text: down ? down + "ed" : sub }));
      svg.appendChild(g);
    });
    if (cur.groups.length) svg.appendChild(s("text", { x: 6, y: H - 6, "class": "dsp-small",
      text: "partition: " + cur.groups.map(function (g) { return "{" + g.join(",") + "}"; }).join(" | ") }));
    this.cl.textContent = "";
    this.cl.appendChild(svg);
  };

  /* -- node state, details, panels ------------------------------------------------------ */
  Player.prototype.drawState = function () {
    var d = this.d, cur = this.cur, fields = [];
    d.nodes.forEach(function (n) {
      Object.keys(cur.state[n] || {}).forEach(function (f) { if (f !== "role" && fields.indexOf(f) < 0) fields.push(f); });
    });
    fields.sort();
    var head = h("tr", {}, ["node", "status", "sent", "recv", "role"].concat(fields).concat(["timers"]).map(function (f) {
      return h("th", { text: f });
    }));
    var rows = d.nodes.map(function (n) {
      var st = cur.state[n] || {}, timers = [];
      for (var hd in cur.timers) {
        var tm = cur.timers[hd];
        if (tm.node === n && tm.at !== null) timers.push(tm.name + " in " + ms(tm.at - cur.t) + " ms");
      }
      return h("tr", { "data-node": n }, [h("td", { text: n }), h("td", { text: cur.down[n] ? cur.down[n] + "ed" : "up" }),
        h("td", { text: String(cur.sent[n] || 0) }), h("td", { text: String(cur.recv[n] || 0) }),
        h("td", { text: st.role === undefined ? "" : fmt(st.role) })].concat(fields.map(function (f) {
          return h("td", { text: fmt(st[f]) });
        })).concat([h("td", { "class": "dsp-timers", text: timers.join("; ") })]));
    });
    this.statePane.textContent = "";
    this.statePane.appendChild(h("div", { "class": "dsp-h", text: "Annotated state at the cursor" }));
    this.statePane.appendChild(h("table", { "class": "dsp-table" }, [h("thead", {}, [head]), h("tbody", {}, rows)]));
  };

  Player.prototype.select = function (what) {
    var d = this.d, m = this.m, lines = [], st;
    if (what.msg !== undefined) {
      var msg = m.msgs[what.msg];
      lines.push("message #" + msg.id + " " + msg.label + ": " + d.nodes[msg.src] + " \u2192 " + d.nodes[msg.dst]);
      lines.push("sent at " + ms(msg.sent) + " ms" + (msg.dups ? ", duplicated " + msg.dups + "\u00D7" : ""));
      msg.ends.forEach(function (e) {
        lines.push((e.drop ? "dropped (" + e.reason + ")" : "delivered") + " at " + ms(e.t) + " ms");
      });
      if (!msg.ends.length) lines.push("still in flight at the end of the trace");
      lines.push("payload: " + JSON.stringify(msg.data, null, 1));
      st = this.stateAt(msg.sendJ < 0 ? 0 : msg.sendJ + 1);
      lines.push("sender " + d.nodes[msg.src] + " then: " + JSON.stringify(st.state[d.nodes[msg.src]] || {}));
    } else if (what.event !== undefined) {
      var r = m.rows[what.event], node = m.node(r[2]);
      lines.push(m.kind[r[1]] + " at " + ms(r[0]) + " ms on " + node + (r[5] >= 0 ? " (" + d.labels[r[5]] + ")" : ""));
      lines.push("data: " + JSON.stringify(m.value(r[6]), null, 1));
      st = this.stateAt(what.event + 1);
      lines.push(node + " then: " + JSON.stringify(st.state[node] || {}));
    } else if (what.node !== undefined) {
      lines.push(what.node + " at " + ms(this.cur.t) + " ms: " + JSON.stringify(this.cur.state[what.node] || {}, null, 1));
    }
    this.selected = what;
    this.detail.textContent = lines.join("\n");
    this.root.setAttribute("data-selected", JSON.stringify(what));
  };

  Player.prototype.drawPanels = function () {
    var cur = this.cur, d = this.d;
    var ctx = { i: d.window.start + cur.n - 1, n: cur.n, t: cur.t / 1000, nodes: d.nodes, state: cur.state,
                down: cur.down, groups: cur.groups, colors: d.colors, h: h, s: s, fmt: fmt, player: this,
                timers: Object.keys(cur.timers).map(function (k) {
                  var tm = cur.timers[k];
                  return { node: tm.node, name: tm.name, set: tm.set / 1000, at: tm.at === null ? null : tm.at / 1000 };
                }) };
    this.panelEls.forEach(function (p) {
      var impl = panels[p.spec.name];
      p.el.textContent = "";
      if (!impl) { p.el.textContent = "(panel " + p.spec.name + " is not loaded)"; return; }
      ctx.data = p.spec.data;
      try {
        impl.render(ctx, p.el);
      } catch (err) {
        p.el.textContent = "panel " + p.spec.name + " failed: " + err;
        ctx.player.root.setAttribute("data-dscourse-error", "panel " + p.spec.name + ": " + err);
        throw err;
      }
    });
  };

  window.DSCoursePlayer = {
    version: 1,
    panel: function (name, impl) { panels[name] = impl; },
    mount: function (root) {
      if (!root || root.dscoursePlayer) return root && root.dscoursePlayer;
      try {
        root.dscoursePlayer = new Player(root);
      } catch (err) {
        root.setAttribute("data-dscourse-error", String(err));
        root.appendChild(h("pre", { "class": "dsp-note", text: "trace player failed: " + err }));
        throw err;
      }
      return root.dscoursePlayer;
    }
  };
})();
