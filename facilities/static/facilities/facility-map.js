// The small map on a facility's page: the city's own base map (vector tiles from /map/'s
// layers) and the facility's marker. Configuration from the page's JSON block (CSP: no inline).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("facility-map");
    var block = document.getElementById("facility-map-config");
    if (!container || !block || !window.L) {
      return;
    }
    if (L.DomEvent && !L.DomEvent.fakeStop) {
      L.DomEvent.fakeStop = L.DomEvent.stopPropagation;
    }
    var config = JSON.parse(block.textContent);
    var map = L.map(container, { maxZoom: 19, scrollWheelZoom: false });
    map.attributionControl.setPrefix(false);
    map.setView(config.center, 17);
    if (L.vectorGrid) {
      config.layers.forEach(function (layer) {
        var styles = {};
        styles[layer.slug] = {
          color: layer.style.color || "#888",
          weight: layer.style.weight === undefined ? 1 : layer.style.weight,
          fill: layer.kind !== "roads",
          fillColor: layer.style.fillColor || layer.style.color || "#ccc",
          fillOpacity: layer.style.fillOpacity === undefined ? 0.4 : layer.style.fillOpacity,
        };
        L.vectorGrid
          .protobuf(layer.tiles, {
            rendererFactory: L.canvas.tile,
            vectorTileLayerStyles: styles,
            interactive: false,
            maxNativeZoom: 19,
            maxZoom: 19,
            attribution: "Machiba",
          })
          .addTo(map);
      });
    }
    L.circleMarker(config.center, { radius: 10, color: "#073763", weight: 3, fillColor: "#0b5394", fillOpacity: 0.9 })
      .addTo(map)
      .bindTooltip(config.name, { permanent: true, direction: "top", offset: [0, -10] });
    container.setAttribute("data-ready", "1");
  });
})();
