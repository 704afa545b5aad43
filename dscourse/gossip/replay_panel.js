/* Gossip panel of the dscourse trace player: the infection grid (servers x updates). */
DSCoursePlayer.panel("gossip", {
  render: function (ctx, el) {
    var h = ctx.h, data = ctx.data, known = {}, per = data.values.map(function () { return 0; });
    data.servers.forEach(function (n) { known[n] = {}; (data.init[n] || []).forEach(function (v) { known[n][v] = 1; }); });
    data.changes.forEach(function (c) { if (c[0] <= ctx.i && known[c[1]]) known[c[1]][c[2]] = 1; });
    var head = [h("th", { text: "server" }), h("th", { text: "knows" })].concat(data.values.map(function (v) {
      return h("th", { "class": "dsp-small", title: "update " + v, text: "" });
    }));
    var rows = data.servers.map(function (n) {
      var count = 0;
      var cells = data.values.map(function (v, vi) {
        var on = !!known[n][vi];
        if (on) { count++; per[vi]++; }
        return h("td", { "class": "dsp-g" + (on ? " dsp-g-on" : ""), title: n + (on ? " knows " : " has not heard ") + v });
      });
      return h("tr", { "data-node": n }, [h("td", { text: n + (ctx.down[n] ? " (" + ctx.down[n] + "ed)" : "") }),
        h("td", { "class": "dsp-g-count", text: count + "/" + data.values.length })].concat(cells));
    });
    var everyone = per.filter(function (k) { return k === data.servers.length; }).length;
    el.appendChild(h("table", { "class": "dsp-table dsp-gossip" }, [h("thead", {}, [h("tr", {}, head)]), h("tbody", {}, rows)]));
    el.appendChild(h("div", { "class": "dsp-small", text: "Red: infected (the server has the update). " + everyone + " of " +
      data.values.length + " updates have reached all " + data.servers.length + " servers" +
      (data.capped ? " (the first " + data.values.length + " updates are shown)." : ".") }));
  }
});
