/* Lease panel of the dscourse trace player: validity bars (server) vs belief bars (holders). */
DSCoursePlayer.panel("lease", {
  render: function (ctx, el) {
    var s = ctx.s, h = ctx.h, d = ctx.data, W = 520, L = 60, rowH = 30, now = ctx.t * 1000;
    var span = Math.max(1, d.t1 - d.t0);
    function x(t) { return L + (Math.min(t, d.t1) - d.t0) / span * (W - L - 6); }
    var svg = s("svg", { width: W, height: d.holders.length * rowH + 24, role: "img",
                         "aria-label": "lease validity and believed ownership per holder" });
    var believers = [];
    d.holders.forEach(function (hd, k) {
      var y = 6 + k * rowH;
      svg.appendChild(s("text", { x: 2, y: y + 14, "class": "dsp-node", text: hd }));
      d.valid.forEach(function (v) {
        if (v[0] !== hd || v[3] > ctx.i) return;
        svg.appendChild(s("rect", { x: x(v[1]), y: y, width: Math.max(1, x(Math.min(v[2], now)) - x(v[1])), height: 9,
          fill: "#74c476", "class": "dsp-lease-valid" }, [s("title", { text: "lease valid (server clock)" })]));
      });
      d.believed.forEach(function (b) {
        if (b[0] !== hd || b[3] > ctx.i) return;
        var end = b[2] === null || b[2] > now ? now : b[2];
        if (b[2] === null || b[2] > now) believers.push(hd);
        var outside = !d.valid.some(function (v) { return v[0] === hd && v[1] <= b[1] && end <= v[2]; });
        svg.appendChild(s("rect", { x: x(b[1]), y: y + 12, width: Math.max(1, x(end) - x(b[1])), height: 9,
          fill: outside ? "#d62728" : "#3182bd", "class": "dsp-lease-belief" + (outside ? " dsp-lease-bad" : "") },
          [s("title", { text: outside ? "believes it holds the lease after it expired" : "believes it holds the lease" })]));
      });
    });
    svg.appendChild(s("line", { x1: x(now), x2: x(now), y1: 0, y2: d.holders.length * rowH + 4, "class": "dsp-cursor" }));
    svg.appendChild(s("text", { x: L, y: d.holders.length * rowH + 18, "class": "dsp-small",
      text: "green: lease valid (server)  blue: holder believes it holds it  red: belief past expiry" }));
    el.appendChild(svg);
    el.appendChild(h("div", { "class": "dsp-small", text: believers.length > 1 ? "UNSAFE at the cursor: " + believers.join(" and ") +
      " both believe they hold the lease." : believers.length ? believers[0] + " believes it holds the lease." : "Nobody believes it holds the lease." }));
  }
});
