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
    // a value is chosen once a majority has accepted it at one ballot, even if votes change later
    var majority = Math.floor(data.acceptors.length / 2) + 1, voters = {}, chosenAll = {};
    function vote(a, acc) {
      Object.keys(acc).forEach(function (k) {
        var v = acc[k], key = k + "|" + v[0] + "|" + v[1];
        voters[key] = voters[key] || {};
        voters[key][a] = 1;
        if (Object.keys(voters[key]).length >= majority) {
          chosenAll[k] = chosenAll[k] || {};
          chosenAll[k][v[1]] = v[0];
        }
      });
    }
    for (var a0 in data.init) vote(a0, data.init[a0].accepted);
    data.changes.forEach(function (c) { if (c[0] <= ctx.i) vote(c[1], c[2].accepted); });
    var head = [h("th", { text: "acceptor" }), h("th", { text: "promised ballot" })].concat(slots.map(function (k) {
      return h("th", { text: k === "" ? "accepted (ballot, value)" : "slot " + k });
    }));
    var rows = data.acceptors.map(function (a) {
      var s = st[a] || { promised: "(0,-)", accepted: {} };
      return h("tr", { "data-node": a, "class": ctx.down[a] ? "dsp-rl-down" : "" },
        [h("td", { text: a + (ctx.down[a] ? " (" + ctx.down[a] + "ed)" : "") }), h("td", { text: s.promised })].concat(slots.map(function (k) {
          var v = s.accepted[k], c = chosenAll[k];
          return h("td", { "class": v && c && c[v[1]] === v[0] ? "dsp-px-chosen" : "",
                           text: v ? v[0] + " \u2192 " + v[1] : "\u2013" });
        })));
    });
    el.appendChild(h("table", { "class": "dsp-table dsp-paxos" }, [h("thead", {}, [h("tr", {}, head)]), h("tbody", {}, rows)]));
    var split = [];
    var said = slots.filter(function (k) { return chosenAll[k]; }).map(function (k) {
      var vals = Object.keys(chosenAll[k]);
      if (vals.length > 1) split.push(k === "" ? "the value" : "slot " + k);
      return (k === "" ? "" : "slot " + k + ": ") + vals.map(function (v) { return v + " at ballot " + chosenAll[k][v]; }).join(" and ");
    });
    if (said.length > 8) said = said.slice(0, 8).concat(["..."]);
    el.appendChild(h("div", { "class": "dsp-small", text: said.length ? "Chosen (accepted by a majority of " + data.acceptors.length +
      " at one ballot): " + said.join("; ") : "No value has been accepted by a majority of the " + data.acceptors.length + " acceptors yet." }));
    if (split.length) el.appendChild(h("div", { "class": "dsp-note dsp-px-split", text: "Agreement violated: two different values chosen for " + split.join(", ") + "." }));
  }
});
