/* Clientside callbacks of the Population Health Explorer (Dash serves this file from assets/).
 *
 * The map figure is assembled here from two parts the server sends separately:
 *   - geometry for a level, sent once per browser session into a memory dcc.Store
 *     ({level, codes, names, geojson}; feature ids are area codes);
 *   - compact values per view ({level, rev, i, c, v, colours, unit, bounds}):
 *     i = positions into the level's geometry (null = every area), c = one character per area
 *     (class 0-4, "s" = suppressed, "n" = no data), v = values to 3 significant figures;
 *   - the theme, sent once in the page (the map-theme dcc.Store, from
 *     explorer/app/presenters/map.py `theme_payload`): colours, labels, fonts and the hover
 *     template of explorer/figures/theme.py and maps.py. None of them is repeated here.
 */
(function () {
  "use strict";

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
    }
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

  function geometryRequest(view, stores, storeIds) {
    if (!view || !view.level) {
      return noUpdate();
    }
    var found = storeFor(view.level, stores, storeIds);
    if (!found || found.data) {
      return noUpdate();
    }
    return view.level;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    explorer: {
      mapFigure: mapFigure,
      geometryRequest: geometryRequest,
    },
  });
})();

/* Accessibility repairs to dash_table.DataTable markup, which we cannot configure:
 *   - its pager buttons are icon-only: give them names ("First page", ...);
 *   - a table wider than its box scrolls sideways: make that region focusable and named, so
 *     keyboard users can scroll it (axe: scrollable-region-focusable);
 *   - the table handles Tab itself (to move between cells), which traps keyboard users in that
 *     region: a Tab pressed on the region or its pager (not in a cell) goes to the browser, which moves focus on (WCAG 2.1.2).
 * A MutationObserver applies the markup repairs whenever Dash (re)draws a table.
 */
(function () {
  "use strict";
  var PAGER_NAMES = {
    "first-page": "First page", "previous-page": "Previous page",
    "next-page": "Next page", "last-page": "Last page"
  };

  var named = 0;

  // Landmarks need distinct names: the heading of the figure or section the table belongs to.
  function tableName(box) {
    var block = box.closest(".figure-block, section, .panel");
    var heading = block && block.querySelector("h1, h2, h3, h4, summary");
    named += 1;
    var title = heading && heading.textContent.trim();
    return "Table " + named + (title ? ": " + title : "") + " (scrolls sideways with the arrow keys)";
  }

  function repair(root) {
    Object.keys(PAGER_NAMES).forEach(function (cls) {
      root.querySelectorAll("button." + cls + ":not([aria-label])").forEach(function (b) {
        b.setAttribute("aria-label", PAGER_NAMES[cls]);
      });
    });
    root.querySelectorAll("input.current-page:not([aria-label])").forEach(function (i) {
      i.setAttribute("aria-label", "Current page");
    });
    root.querySelectorAll(".dash-spreadsheet-container:not([tabindex])").forEach(function (box) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", tableName(box));
    });
  }

  function releaseTab(event) {
    var target = event.target;
    if (event.key === "Tab" && target && target.closest &&
        target.closest(".dash-table-container") && !target.closest("td")) {
      event.stopImmediatePropagation();  // the table never sees it; the default focus move happens
    }
  }

  function start() {
    document.addEventListener("keydown", releaseTab, true);
    repair(document);
    new MutationObserver(function () { repair(document); })
      .observe(document.body, { childList: true, subtree: true });
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
