/* Clientside callbacks of the Population Health Explorer (Dash serves this file from assets/).
 *
 * The map figure is assembled here from two parts the server sends separately:
 *   - geometry for a level, fetched once (geometryRequest, from /_geometry/<level>.json, kept by the
 *     browser's HTTP cache across page loads) into a memory dcc.Store
 *     ({level, codes, names, geojson}; feature ids are area codes);
 *   - compact values per view ({level, rev, i, c, v, colours, unit, bounds}):
 *     i = positions into the level's geometry (null = every area), c = one character per area
 *     (class 0-4, "s" = suppressed, "n" = no data), v = values to 3 significant figures;
 *   - the theme, sent once in the page (the map-theme dcc.Store, from
 *     explorer/app/presenters/map.py `theme_payload`): colours, labels, fonts, the hover
 *     template of explorer/figures/theme.py and maps.py. None of them is repeated here.
 * Area names (ICS and place levels) are written over the map as HTML labels placed with MapLibre's
 * projection (`syncLabels`): plotly's map text would fetch font glyphs from an outside server.
 */
(function () {
  "use strict";

  var shown = { labels: [], filename: null };  // what the map figure last drawn needs after plotly draws it

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function formatValue(v, unit) {
    var text = Number(v).toLocaleString("en-GB", { maximumSignificantDigits: 3 });
    if (unit === "%" || unit === "pp") {
      return text + unit;
    }
    return unit ? text + " " + unit : text;
  }

  /* Stepped colour scale for z = -2 (no data), -1 (suppressed), 0..k-1 (classes). */
  function discreteColorscale(colours, theme) {
    var stops = [theme.noDataColour, theme.suppressedColour].concat(colours.length ? colours : [theme.noDataColour]);
    var n = stops.length;
    var scale = [];
    for (var i = 0; i < n; i++) {
      scale.push([i / n, stops[i]]);
      scale.push([(i + 1) / n, stops[i]]);
    }
    return scale;
  }

  /* Centre and zoom that fit [minLon, minLat, maxLon, maxLat] into the graph (Web Mercator,
   * 512-pixel world at zoom 0 as in MapLibre); plotly's map subplot does not auto-fit choropleths. */
  function fitView(bounds, width, height) {
    if (!bounds || bounds.length !== 4) {
      return { center: { lon: -0.12, lat: 51.5 }, zoom: 8.5 };
    }
    var mercY = function (lat) {
      var r = lat * Math.PI / 180;
      return Math.log(Math.tan(Math.PI / 4 + r / 2));
    };
    var y0 = mercY(bounds[1]);
    var y1 = mercY(bounds[3]);
    var lonSpan = Math.max(bounds[2] - bounds[0], 1e-4);
    var ySpan = Math.max(y1 - y0, 1e-6);
    var zx = Math.log2((width * 360) / (lonSpan * 512));
    var zy = Math.log2((height * 2 * Math.PI) / (ySpan * 512));
    var yc = (y0 + y1) / 2;
    var latc = (2 * Math.atan(Math.exp(yc)) - Math.PI / 2) * 180 / Math.PI;
    return { center: { lon: (bounds[0] + bounds[2]) / 2, lat: latc }, zoom: Math.min(zx, zy) - 0.2 };
  }

  function graphSize() {
    var el = document.getElementById("map-graph");
    var w = el && el.clientWidth ? el.clientWidth : 800;
    var h = el && el.clientHeight ? el.clientHeight : 600;
    return [w, h];
  }

  // In the figure itself, so that a downloaded PNG of the map says so too.
  function syntheticMark(theme) {
    return {
      text: theme.syntheticMark, showarrow: false, xref: "paper", yref: "paper", x: 0.01, y: 0.01,
      xanchor: "left", yanchor: "bottom", font: { size: 12, color: theme.syntheticColour, family: theme.fontFamily },
      bgcolor: "rgba(255,255,255,0.85)",
    };
  }

  function storeFor(level, stores, storeIds) {
    for (var i = 0; i < storeIds.length; i++) {
      if (storeIds[i].level === level) {
        return { index: i, data: stores[i] };
      }
    }
    return null;
  }

  function emptyFigure(message, theme) {
    return {
      data: [],
      layout: {
        template: null,
        xaxis: { visible: false },
        yaxis: { visible: false },
        annotations: message ? [{ text: message, showarrow: false, font: { size: 15, color: theme.text } }] : [],
        margin: { l: 0, r: 0, t: 0, b: 0 },
        paper_bgcolor: theme.background,
        plot_bgcolor: theme.background,
      },
    };
  }

  /* The labels to write: name and point of each area shown, in the geometry's placing order. */
  function labelList(values, geo) {
    if (!geo.labels) {
      return [];
    }
    var shown = null;
    if (values.i) {
      shown = {};
      for (var k = 0; k < values.i.length; k++) {
        shown[values.i[k]] = true;
      }
    }
    var out = [];
    geo.labels.order.forEach(function (p) {
      if (!shown || shown[p]) {
        var pt = geo.labels.points[p];
        out.push({ name: geo.names[p], lon: pt[0], lat: pt[1] });
      }
    });
    return out;
  }

  function mapFigure(values, stores, storeIds, theme) {
    if (!values) {
      return emptyFigure("", theme);
    }
    var found = storeFor(values.level, stores, storeIds);
    if (!found || !found.data) {
      return emptyFigure("Loading boundaries…", theme);  // runs again when the geometry store fills
    }
    var geo = found.data;
    var idx = values.i;
    var n = idx ? idx.length : geo.codes.length;
    var locations = new Array(n);
    var names = new Array(n);
    var z = new Array(n);
    var custom = new Array(n);
    for (var k = 0; k < n; k++) {
      var p = idx ? idx[k] : k;
      locations[k] = geo.codes[p];
      names[k] = geo.names[p];
      var ch = values.c.charAt(k);
      var cls = ch === "s" ? -1 : ch === "n" ? -2 : parseInt(ch, 10);
      z[k] = cls;
      if (cls === -1) {
        custom[k] = theme.suppressedLabel;
      } else if (values.v[k] === null || values.v[k] === undefined) {
        custom[k] = theme.noDataLabel;
      } else {
        custom[k] = formatValue(values.v[k], values.unit);
      }
      if (values.classLabels && cls >= 0) {
        custom[k] += "<br>" + values.classLabels[cls];
      }
    }
    // for afterDraw (labels, PNG name): kept here, not in layout.meta, whose change makes plotly
    // redraw the whole map and drop the hover label of a resting pointer
    shown = { labels: labelList(values, geo), filename: values.filename };
    var k5 = Math.max(values.colours.length, 1);
    var size = graphSize();
    var view = fitView(values.bounds, size[0], size[1]);
    return {
      data: [{
        type: "choroplethmap",
        geojson: geo.geojson,
        locations: locations,
        z: z,
        zmin: -2.5,
        zmax: k5 - 0.5,
        colorscale: discreteColorscale(values.colours, theme),
        showscale: false,
        marker: { line: { color: theme.boundaryColour, width: 0.5 }, opacity: 0.9 },
        text: names,
        customdata: custom,
        hovertemplate: theme.hoverTemplate,
      }],
      layout: {
        template: null,
        map: { style: "white-bg", center: view.center, zoom: view.zoom },
        margin: { l: 0, r: 0, t: 0, b: 0 },
        uirevision: values.rev,
        clickmode: "event",
        showlegend: false,
        font: { family: theme.fontFamily, size: 13, color: theme.text },
        hoverlabel: { bgcolor: theme.background, font: { family: theme.fontFamily, color: theme.text } },
        paper_bgcolor: theme.background,
        annotations: values.synthetic ? [syntheticMark(theme)] : [],
      },
    };
  }

  /* Area names over the map: one absolutely placed span per label inside the map's container,
   * moved with the map (MapLibre "move"), skipped where it would overlap a label already placed
   * (larger areas are placed first). Hidden from screen readers: the names are in the table. */
  function placeLabels(gd) {
    var box = gd.querySelector(".map-labels");
    var sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    if (!box || !sub || !sub.map) {
      return;
    }
    var map = sub.map;
    var width = box.clientWidth;
    var height = box.clientHeight;
    var placed = [];
    Array.prototype.forEach.call(box.children, function (span) {
      var p = map.project([Number(span.dataset.lon), Number(span.dataset.lat)]);
      var w = span.offsetWidth;
      var h = span.offsetHeight;
      // a label near the edge slides inside the map (a long name on a phone), one off the map hides
      var x = Math.min(Math.max(p.x - w / 2, 2), Math.max(width - w - 2, 2));
      var r = { l: x, t: p.y - h / 2, r: x + w, b: p.y + h / 2 };
      var inside = p.x >= 0 && p.x <= width && r.t >= 0 && r.b <= height;
      var clash = placed.some(function (q) {
        return r.l < q.r && r.r > q.l && r.t < q.b && r.b > q.t;
      });
      span.style.transform = "translate(" + Math.round(r.l) + "px," + Math.round(r.t) + "px)";
      span.style.visibility = inside && !clash ? "visible" : "hidden";
      if (inside && !clash) {
        placed.push(r);
      }
    });
  }

  function syncLabels(gd) {
    var sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    var labels = shown.labels;
    var host = sub && sub.div;
    if (!host) {
      return;
    }
    var box = host.querySelector(".map-labels");
    if (!box) {
      box = document.createElement("div");
      box.className = "map-labels";
      box.setAttribute("aria-hidden", "true");
      host.appendChild(box);
    }
    var key = labels.map(function (l) { return l.name; }).join("|");
    if (box.dataset.key !== key) {
      box.dataset.key = key;
      box.textContent = "";
      labels.forEach(function (l) {
        var span = document.createElement("span");
        span.className = "map-label";
        // text, never HTML: the names arrive escaped for plotly's hover (shell.browser_geometry)
        span.textContent = l.name.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
        span.dataset.lon = l.lon;
        span.dataset.lat = l.lat;
        box.appendChild(span);
      });
    }
    if (sub.map && !sub.map._explorerLabels) {
      sub.map._explorerLabels = true;
      sub.map.on("move", function () { placeLabels(gd); });
      sub.map.on("resize", function () { placeLabels(gd); });
    }
    placeLabels(gd);
  }

  /* After every draw: the labels, and the toolbar's "download plot" named for the view. plotly reads
   * toImageButtonOptions from the graph's context when the button is clicked; naming it here, not
   * by sending a new dcc.Graph config, keeps the map (a new config makes plotly rebuild it). */
  function afterDraw(gd) {
    var image = gd._context && gd._context.toImageButtonOptions;
    if (image && shown.filename) {
      // in place: this object is the dcc.Graph config's own, so plotly's next react finds the same
      // config (a replaced one would count as a config change and rebuild the whole map)
      image.filename = shown.filename;
    }
    syncLabels(gd);
  }

  /* Hook the map graph once it exists (dcc.Graph loads plotly lazily), then after every redraw. */
  function watchLabels() {
    var gd = document.querySelector("#map-graph .js-plotly-plot");
    if (!gd || !gd.on || gd._explorerLabels) {
      return;
    }
    gd._explorerLabels = true;
    gd.on("plotly_afterplot", function () { afterDraw(gd); });
    afterDraw(gd);
  }

  function startLabels() {
    new MutationObserver(function () { watchLabels(); })
      .observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startLabels);
  } else {
    startLabels();
  }

  /* The level's boundaries, fetched once from the server's cacheable route (explorer/app/geometry.py:
   * gzipped, ETag; the browser's HTTP cache keeps them across page loads) into the level's memory
   * store, which redraws the map. A fetch in flight is not repeated; a refusal leaves the store empty. */
  var pendingGeometry = {};

  function basePath() {
    var config = document.getElementById("_dash-config");
    var prefix = config ? JSON.parse(config.textContent).requests_pathname_prefix : "/";
    return prefix || "/";
  }

  function geometryRequest(view, stores, storeIds) {
    if (!view || !view.level) {
      return noUpdate();
    }
    var found = storeFor(view.level, stores, storeIds);
    if (!found || found.data || pendingGeometry[view.level]) {
      return noUpdate();
    }
    var level = view.level;
    pendingGeometry[level] = true;
    return fetch(basePath() + "_geometry/" + encodeURIComponent(level) + ".json", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("boundaries of " + level + ": HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (geo) {
        var out = storeIds.map(function () { return noUpdate(); });
        out[found.index] = geo;
        return out;
      })
      .catch(function (error) {
        console.warn(error.message);
        return noUpdate();
      })
      .finally(function () {
        delete pendingGeometry[level];
      });
  }

  // A server-side grid (explorer.app.grid.server_grid) whose view changed: back to page 1 and empty
  // its block cache, so it asks the server for the new rows (one page).
  function refreshGrid(_changed, gridId) {
    var grids = window.dash_ag_grid;
    if (grids && grids.getApiAsync) {
      grids.getApiAsync(gridId).then(function (api) {
        api.paginationGoToFirstPage();
        api.purgeInfiniteCache();
      });
    }
    return noUpdate();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    explorer: {
      mapFigure: mapFigure,
      geometryRequest: geometryRequest,
      refreshGrid: refreshGrid,
    },
  });
})();

/* AG Grid helpers named in explorer.app.grid's column definitions (dash-ag-grid looks them up here). */
(function () {
  "use strict";
  // Numbers in number order; text cells (the suppression mark "*", "" for none) after every number,
  // whichever way the column is sorted, so they never split the ranking.
  function explorerCompare(a, b, nodeA, nodeB, isDescending) {
    var na = typeof a === "number", nb = typeof b === "number";
    if (na && nb) { return a - b; }
    if (na !== nb) { return (na ? -1 : 1) * (isDescending ? -1 : 1); }
    return String(a == null ? "" : a).localeCompare(String(b == null ? "" : b), "en-GB", { numeric: true });
  }
  function explorerIsNumber(value) { return typeof value === "number" && isFinite(value); }
  window.dashAgGridFunctions = Object.assign({}, window.dashAgGridFunctions, {
    explorerCompare: explorerCompare,
    explorerIsNumber: explorerIsNumber,
  });
})();

/* Small screens (issue 14, point 7): the map's filter panel starts closed at 1100 px and below, so
 * the map is on the first screen; the person opens it with its summary (a native <details>, keyboard
 * reachable). Each panel is set once, when it appears, never against the person's own choice. */
(function () {
  "use strict";
  var SMALL = "(max-width: 1100px)";

  function settle() {
    document.querySelectorAll("details.filters-panel:not([data-settled])").forEach(function (panel) {
      panel.setAttribute("data-settled", "1");
      if (window.matchMedia(SMALL).matches) {
        panel.open = false;
      }
    });
  }

  function start() {
    settle();
    new MutationObserver(settle).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* The user's area on every page (issue 14): each page writes its view into the URL with its own
   dcc.Location (refresh=False), which no other Location hears. After every history change, tell the
   shell's Location (id "nav-url") the new query, so its server callback (explorer.app.shell
   carry_area, keys from explorer.app.state.SHARED_KEYS) rewrites the nav links. */
(function () {
  "use strict";
  function sync() {
    var dc = window.dash_clientside;
    if (dc && dc.set_props) {  // dcc.Location draws no element: set_props finds it in the layout
      var here = window.location;  // all three: a Location with a stale href would push it back
      try { dc.set_props("nav-url", { href: here.href, pathname: here.pathname, search: here.search }); }
      catch (e) { /* not rendered yet */ }
    }
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = window.history[name];
    window.history[name] = function () {
      var result = original.apply(this, arguments);
      window.setTimeout(sync, 0);
      return result;
    };
  });
  window.addEventListener("popstate", function () { window.setTimeout(sync, 0); });
})();
