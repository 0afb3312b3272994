// Maps of /map/ and /staff/map/: our own layers as vector tiles (PostGIS ST_AsMVT), no
// internet tile server. Configuration comes from the page's JSON block (CSP: no inline JS).
(function () {
  "use strict";

  function pathStyle(style, kind) {
    var out = {
      color: style.color || "#555",
      weight: style.weight === undefined ? 1 : style.weight,
      opacity: style.opacity === undefined ? 1 : style.opacity,
      fill: style.fill === undefined ? kind !== "roads" && kind.indexOf("pipes") < 0 : style.fill,
      fillColor: style.fillColor || style.color || "#999",
      fillOpacity: style.fillOpacity === undefined ? 0.2 : style.fillOpacity,
      radius: style.radius || 6,
    };
    if (style.dashArray) {
      out.dashArray = style.dashArray;
    }
    return out;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function showCalendar(target, district, i18n) {
    var section = el("section", null, "district-result");
    section.appendChild(el("h2", i18n.district + "：" + district.name, "district-name"));
    var list = el("ul", null, "next-days");
    district.calendar.forEach(function (row) {
      var days = row.next.map(function (iso) {
        var d = new Date(iso + "T00:00:00");
        return (d.getMonth() + 1) + "/" + d.getDate() + "（" + "日月火水木金土".charAt(d.getDay()) + "）";
      });
      list.appendChild(el("li", row.label + "（" + row.rule + "）" + i18n.next + "：" + days.join("、")));
    });
    section.appendChild(list);
    target.appendChild(section);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("map");
    if (!container || !window.L || !L.vectorGrid) {
      return;
    }
    // Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed.
    if (!L.DomEvent.fakeStop) {
      L.DomEvent.fakeStop = L.DomEvent.stopPropagation;
    }
    var config = JSON.parse(document.getElementById("map-config").textContent);
    var i18n = document.getElementById("map-i18n").dataset;
    var result = document.getElementById("map-result");
    var map = L.map(container, { maxZoom: 20 });
    map.attributionControl.setPrefix(false);
    map.fitBounds(config.bounds);
    container.setAttribute("data-ready", "1");

    var layers = {};
    config.layers.forEach(function (layer) {
      var styles = {};
      styles[layer.slug] = pathStyle(layer.style || {}, layer.kind);
      var grid = L.vectorGrid.protobuf(layer.tiles, {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles,
        interactive: false,
        maxNativeZoom: 20,
        maxZoom: 20,
        attribution: layer.style && layer.style.basemap ? "Machiba" : "",
      });
      layers[layer.slug] = grid;
      if (!(layer.style && layer.style.hidden)) {
        grid.addTo(map);
      }
    });
    document.querySelectorAll("input[data-layer]").forEach(function (box) {
      box.addEventListener("change", function () {
        var grid = layers[box.getAttribute("data-layer")];
        if (!grid) {
          return;
        }
        if (box.checked) {
          grid.addTo(map);
        } else {
          map.removeLayer(grid);
        }
      });
    });

    var marker = null;
    function mark(latlng) {
      if (marker) {
        map.removeLayer(marker);
      }
      marker = L.circleMarker(latlng, { radius: 8, color: "#c00", weight: 3, fillOpacity: 0.4 }).addTo(map);
    }

    map.on("click", function (event) {
      var url = config.pointUrl + "?lon=" + event.latlng.lng.toFixed(8) + "&lat=" + event.latlng.lat.toFixed(8);
      mark(event.latlng);
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (config.mode === "staff") {
          return response.text().then(function (html) {
            result.innerHTML = html; // server-rendered, escaped by Django templates
          });
        }
        return response.json().then(function (features) {
          result.textContent = "";
          result.appendChild(el("h2", i18n.here));
          var list = el("ul");
          features.forEach(function (f) {
            list.appendChild(el("li", f.layer_name + "：" + (f.attributes.name || f.external_id)));
          });
          result.appendChild(list);
        });
      });
    });

    var form = document.getElementById("address-search");
    var error = document.getElementById("address-error");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var address = form.querySelector("input[name=address]").value;
        error.hidden = true;
        fetch(config.geocodeUrl + "?address=" + encodeURIComponent(address), { credentials: "same-origin" })
          .then(function (response) {
            if (!response.ok) {
              error.textContent = i18n.notfound;
              error.hidden = false;
              return null;
            }
            return response.json();
          })
          .then(function (found) {
            if (!found) {
              return;
            }
            var latlng = L.latLng(found.lat, found.lon);
            mark(latlng);
            map.setView(latlng, 17);
            result.textContent = "";
            result.appendChild(el("h2", found.address_key, "found-address"));
            if (config.mode === "staff" && found.parcel_key) {
              result.appendChild(el("p", i18n.parcel + "：" + found.parcel_key));
            }
            if (found.garbage_district) {
              showCalendar(result, found.garbage_district, i18n);
            }
          });
      });
    }
  });
})();
