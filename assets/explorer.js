/* Clientside callbacks of the Population Health Explorer (Dash serves this file from assets/).
 *
 * The map figure is assembled here from two parts the server sends separately:
 *   - geometry for a level, sent once per browser session into a memory dcc.Store
 *     ({level, codes, names, geojson}; feature ids are area codes);
 *   - compact values per view ({level, rev, i, c, v, colours, unit, bounds}):
 *     i = positions into the level's geometry (null = every area), c = one character per area
 *     (class 0-4, "s" = suppressed, "n" = no data), v = values to 3 significant figures.
 * Colours and labels mirror explorer/figures/theme.py and maps.py (tests check they agree).
 */
(function () {
  "use strict";

  var SUPPRESSED_COLOUR = "#9e9e9e";
  var NO_DATA_COLOUR = "#ffffff";
  var BOUNDARY_COLOUR = "#ffffff";
  var SUPPRESSED_LABEL = "Suppressed: fewer than 8 people";
  var NO_DATA_LABEL = "No data";
  var FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  var TEXT = "#212b32";
  var HOVER_TEMPLATE = "<b>%{text}</b><br>%{customdata}<extra></extra>";

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
  function discreteColorscale(colours) {
    var stops = [NO_DATA_COLOUR, SUPPRESSED_COLOUR].concat(colours.length ? colours : [NO_DATA_COLOUR]);
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
  var SYNTHETIC_MARK = {
    text: "SYNTHETIC DATA", showarrow: false, xref: "paper", yref: "paper", x: 0.01, y: 0.01,
    xanchor: "left", yanchor: "bottom", font: { size: 12, color: "#5c2d91", family: FONT_FAMILY },
    bgcolor: "rgba(255,255,255,0.85)",
  };

  function storeFor(level, stores, storeIds) {
    for (var i = 0; i < storeIds.length; i++) {
      if (storeIds[i].level === level) {
        return { index: i, data: stores[i] };
      }
    }
    return null;
  }

  function emptyFigure(message) {
    return {
      data: [],
      layout: {
        template: null,
        xaxis: { visible: false },
        yaxis: { visible: false },
        annotations: message ? [{ text: message, showarrow: false, font: { size: 15, color: TEXT } }] : [],
        margin: { l: 0, r: 0, t: 0, b: 0 },
        paper_bgcolor: "#ffffff",
        plot_bgcolor: "#ffffff",
      },
    };
  }

  function mapFigure(values, stores, storeIds) {
    if (!values) {
      return emptyFigure("");
    }
    var found = storeFor(values.level, stores, storeIds);
    if (!found || !found.data) {
      return emptyFigure("Loading boundaries…");  // runs again when the geometry store fills
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
        custom[k] = SUPPRESSED_LABEL;
      } else if (values.v[k] === null || values.v[k] === undefined) {
        custom[k] = NO_DATA_LABEL;
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
        colorscale: discreteColorscale(values.colours),
        showscale: false,
        marker: { line: { color: BOUNDARY_COLOUR, width: 0.5 }, opacity: 0.9 },
        text: names,
        customdata: custom,
        hovertemplate: HOVER_TEMPLATE,
      }],
      layout: {
        template: null,
        map: { style: "white-bg", center: view.center, zoom: view.zoom },
        margin: { l: 0, r: 0, t: 0, b: 0 },
        uirevision: values.rev,
        clickmode: "event",
        showlegend: false,
        font: { family: FONT_FAMILY, size: 13, color: TEXT },
        hoverlabel: { bgcolor: "#ffffff", font: { family: FONT_FAMILY, color: TEXT } },
        paper_bgcolor: "#ffffff",
        annotations: values.synthetic ? [SYNTHETIC_MARK] : [],
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
