/* Raft panel of the dscourse trace player: term, role, election timer, log matrix, commit index. */
DSCoursePlayer.panel("raft", {
  render: function (ctx, el) {
    var h = ctx.h, s = ctx.s, data = ctx.data, logs = {}, maxLen = 0;
    var termColors = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9", "#f7e1a0", "#b3e2cd", "#fbb4c9", "#cbd5e8"];
    data.servers.forEach(function (n) { logs[n] = data.init[n].slice(); });
    data.changes.forEach(function (c) {
      if (c[0] > ctx.i) return;
      var n = ctx.nodes[c[1]];
      if (logs[n]) logs[n] = logs[n].slice(0, c[2] - 1).concat(c[3]);
    });
    var commits = Object.assign({}, data.commit);
    data.commits.forEach(function (c) { if (c[0] <= ctx.i) commits[ctx.nodes[c[1]]] = c[2]; });
    data.servers.forEach(function (n) { maxLen = Math.max(maxLen, logs[n].length); });
    var head = [h("th", { text: "server" }), h("th", { text: "role" }), h("th", { text: "term" }),
                h("th", { text: "election timer" }), h("th", { text: "commit" })];
    for (var k = 1; k <= maxLen; k++) head.push(h("th", { "class": "dsp-rl-ix", text: String(k) }));
    var rows = data.servers.map(function (n) {
      var st = ctx.state[n] || {}, role = st.role || "", down = ctx.down[n], commit = commits[n] || 0;
      var timer = null;
      ctx.timers.forEach(function (t) { if (t.node === n && t.name === "election") timer = t; });
      var bar = s("svg", { width: 90, height: 12, role: "img", "aria-label": "election timer of " + n });
      bar.appendChild(s("rect", { x: 0, y: 2, width: 90, height: 8, fill: "#eee" }));
      if (timer && timer.at !== null && !down) {
        var f = timer.at > timer.set ? Math.max(0, Math.min(1, (timer.at - ctx.t) / (timer.at - timer.set))) : 0;
        bar.appendChild(s("rect", { x: 0, y: 2, width: 90 * f, height: 8, fill: f < 0.2 ? "#e6550d" : "#6baed6", "class": "dsp-rl-timer" }));
        bar.appendChild(s("title", { text: "times out in " + Math.round((timer.at - ctx.t) * 10) / 10 + " ms" }));
      }
      var cells = [h("td", { text: n }),
        h("td", {}, [h("span", { "class": "dsp-rl-role", style: "background:" + (ctx.colors.roles[role] || "#eee"),
                                  text: down ? down + "ed" : role })]),
        h("td", { "class": "dsp-rl-term", text: st.term === undefined ? "" : String(st.term) }),
        h("td", {}, [role === "leader" && !down ? h("span", { "class": "dsp-small", text: "leader (no timeout)" }) : bar]),
        h("td", { "class": "dsp-rl-commit", text: String(commit) })];
      for (var k = 1; k <= maxLen; k++) {
        var e = logs[n][k - 1];
        if (!e) { cells.push(h("td", { "class": "dsp-rl-empty" })); continue; }
        cells.push(h("td", { "class": "dsp-rl-entry" + (k <= commit ? " dsp-rl-committed" : ""),
          style: "background:" + termColors[e[0] % termColors.length], title: "index " + k + ", term " + e[0] + ": " + e[1],
          text: String(e[0]) }));
      }
      return h("tr", { "data-node": n, "class": down ? "dsp-rl-down" : "" }, cells);
    });
    el.appendChild(h("table", { "class": "dsp-table dsp-raft" }, [h("thead", {}, [h("tr", {}, head)]), h("tbody", {}, rows)]));
    el.appendChild(h("div", { "class": "dsp-small", text: "Log cells show the entry's term; a solid outline marks entries the server knows are committed (index \u2264 its commit index)." }));
  }
});
