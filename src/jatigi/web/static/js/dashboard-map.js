// The dashboard's map: admin units coloured by households where boundaries are loaded, circles
// sized by households on centroids elsewhere. No tile layer: the map works offline.
(function () {
  "use strict";
  var COLOURS = ["#fdf0d5", "#f8cf8b", "#f0a04b", "#c8611c", "#7f3b08"];
  var map = null;

  function breaks(values) {
    var sorted = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    // Upper limits of the classes, strictly increasing: few distinct values make fewer classes.
    var out = [];
    for (var i = 1; i <= COLOURS.length && sorted.length; i++) {
      var limit = i === COLOURS.length ? sorted[sorted.length - 1] : sorted[Math.floor((sorted.length - 1) * i / COLOURS.length)];
      if (!out.length || limit > out[out.length - 1]) { out.push(limit); }
    }
    return out;
  }

  function colour(value, limits) {
    if (!value) { return "#eef1f4"; }
    for (var i = 0; i < limits.length; i++) { if (value <= limits[i]) { return COLOURS[i]; } }
    return COLOURS[COLOURS.length - 1];
  }

  function draw(element) {
    var src = element.getAttribute("data-src");
    if (!src || element.getAttribute("data-drawn") === src) { return; }
    element.setAttribute("data-drawn", src);
    fetch(src, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      if (map) { map.remove(); map = null; }
      map = L.map(element, { zoomSnap: 0.25, attributionControl: false });
      var values = data.features.map(function (f) { return f.properties.households; });
      var limits = breaks(values);
      var biggest = Math.max.apply(null, values.concat([1]));
      var words = element.dataset;
      var layer = L.geoJSON(data, {
        style: function (f) {
          return { color: "#5b4636", weight: 1, fillOpacity: 0.85, fillColor: colour(f.properties.households, limits) };
        },
        pointToLayer: function (f, latlng) {
          var r = 4 + 26 * Math.sqrt(f.properties.households / biggest);
          return L.circleMarker(latlng, { radius: r, color: "#7f3b08", weight: 1, fillColor: "#f0a04b", fillOpacity: 0.7 });
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          l.bindTooltip(p.name + " (" + p.pcode + ")<br>" + p.households.toLocaleString(document.documentElement.lang) +
            " " + words.households + ", " + p.people.toLocaleString(document.documentElement.lang) + " " + words.people);
        }
      }).addTo(map);
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([17.35, -3.53], 5); }
      var legend = L.control({ position: "bottomright" });
      legend.onAdd = function () {
        var div = L.DomUtil.create("div", "legend");
        var lang = document.documentElement.lang;
        var lower = 1;
        limits.forEach(function (upper, i) {
          var row = L.DomUtil.create("div", "", div);
          var swatch = L.DomUtil.create("i", "", row);
          swatch.style.background = COLOURS[i];
          var text = lower === upper ? upper.toLocaleString(lang)
            : lower.toLocaleString(lang) + "–" + upper.toLocaleString(lang);
          row.appendChild(document.createTextNode(text));
          lower = upper + 1;
        });
        return div;
      };
      legend.addTo(map);
      element.setAttribute("data-features", String(data.features.length));
    });
  }

  function init() {
    var element = document.getElementById("map");
    if (element && window.L) { draw(element); }
  }
  document.addEventListener("DOMContentLoaded", init);
  document.body.addEventListener("htmx:afterSettle", init);
})();
