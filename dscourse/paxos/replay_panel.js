/* Paxos panel of the dscourse trace player: promised ballot and accepted (ballot, value) per acceptor. */
DSCoursePlayer.panel("paxos", {
  render: function (ctx, el) {
    var h = ctx.h, data = ctx.data, st = {}, slots = [];
    for (var a in data.init) st[a] = data.init[a];
    data.changes.forEach(function (c) { if (c[0] <= ctx.i) st[c[1]] = c[2]; });
    data.acceptors.forEach(function (a) {
      Object.keys((st[a] || { accepted: {} }).accepted).forEach(function (k) { if (slots.indexOf(k) < 0) slots.push(k); });
    });
    slots.sort(function (x, y) { return (+x) - (+y); });
    if (!slots.length) slots.push("");
    var majority = Math.floor(data.acceptors.length / 2) + 1, chosen = {};
    slots.forEach(function (k) {
      var count = {};
      data.acceptors.forEach(function (a) {
        var v = st[a] && st[a].accepted[k];
        if (v) { var key = v[0] + " " + v[1]; count[key] = (count[key] || 0) + 1; if (count[key] >= majority) chosen[k] = v; }
      });
    });
    var head = [h("th", { text: "acceptor" }), h("th", { text: "promised ballot" })].concat(slots.map(function (k) {
      return h("th", { text: k === "" ? "accepted (ballot, value)" : "slot " + k });
    }));
    var rows = data.acceptors.map(function (a) {
      var s = st[a] || { promised: "(0,-)", accepted: {} };
      return h("tr", { "data-node": a, "class": ctx.down[a] ? "dsp-rl-down" : "" },
        [h("td", { text: a + (ctx.down[a] ? " (" + ctx.down[a] + "ed)" : "") }), h("td", { text: s.promised })].concat(slots.map(function (k) {
          var v = s.accepted[k], c = chosen[k];
          return h("td", { "class": v && c && v[0] === c[0] && v[1] === c[1] ? "dsp-px-chosen" : "",
                           text: v ? v[0] + " \u2192 " + v[1] : "\u2013" });
        })));
    });
    el.appendChild(h("table", { "class": "dsp-table dsp-paxos" }, [h("thead", {}, [h("tr", {}, head)]), h("tbody", {}, rows)]));
    var said = slots.filter(function (k) { return chosen[k]; }).map(function (k) {
      return (k === "" ? "" : "slot " + k + ": ") + chosen[k][1] + " at ballot " + chosen[k][0];
    });
    el.appendChild(h("div", { "class": "dsp-small", text: said.length ? "Chosen (accepted by a majority of " + data.acceptors.length +
      "): " + said.join("; ") : "No value is accepted by a majority of the " + data.acceptors.length + " acceptors yet." }));
  }
});
